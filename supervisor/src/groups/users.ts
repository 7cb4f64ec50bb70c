// Resolves a policy's `user` (name or uid) from /etc/passwd when a group
// starts, so a policy can be written before the user exists.
import { readFileSync } from 'node:fs';

export interface Account { name: string; uid: number; gid: number; home: string }

export function lookupUser(spec: string, passwd = '/etc/passwd'): Account {
  const lines = readFileSync(passwd, 'utf8').split('\n');
  for (const line of lines) {
    const [name, , uid, gid, , home] = line.split(':');
    if (name === undefined || uid === undefined || gid === undefined) continue;
    if (name === spec || uid === spec) return { name, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
  }
  throw new Error(`user "${spec}" is not in ${passwd}; create it or change "user" in the policy`);
}
