// An unprivileged account for tests of what must work without root.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './paths.js';

export const TEST_USER = 'durun-test';

/**
 * Ends every process of the test account (SIGKILL) and waits until none is
 * left but zombies, so its scratch tree can be removed: a supervisor told to
 * shut down, its runners or a checkpoint writer may otherwise still be
 * writing there.
 */
export function endUserProcesses(uid: number): void {
  spawnSync('pkill', ['-KILL', '-U', String(uid)]);
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const left = spawnSync('pgrep', ['-U', String(uid), '-r', 'R,S,D,T,t'], { encoding: 'utf8' }).stdout.trim();
    if (!left) return;
    spawnSync('sleep', ['0.05']);
  }
}

export interface Unprivileged { uid: number; gid: number; home: string; env: NodeJS.ProcessEnv; wrap(cmd: string[]): string[] }

/** Creates (if needed) the test account and a private DURUN_HOME for it; a string explains why it is impossible here. */
export function unprivilegedUser(): Unprivileged | string {
  if (process.getuid!() !== 0) return 'not running as root, so no second account can be created';
  if (spawnSync('id', ['-u', TEST_USER]).status !== 0) {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', TEST_USER]);
  }
  const uid = Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8' }));
  const home = mkdtempSync(path.join(os.tmpdir(), 'durun-user-'));
  chownSync(home, uid, gid);
  const wrap = (cmd: string[]) => ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...cmd];
  const probe = spawnSync(wrap(['test', '-x', path.join(ROOT, 'build', 'durun')])[0]!, wrap(['test', '-x', path.join(ROOT, 'build', 'durun')]).slice(1));
  if (probe.status !== 0) return `${TEST_USER} cannot reach ${ROOT} (a parent directory is not searchable for others)`;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, DURUN_HOME: path.join(home, 'state') };
  return { uid, gid, home, env, wrap };
}
