// Issue 4: `user =` in a policy. A root supervisor starts the group's program
// as that user (setpriv), restarts it when it crashes, and stops it; its
// interceptor cannot reach the root supervisor's private socket, so its
// processes are tracked through /proc and a checkpoint refuses, naming why.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { durunSync, group, waitGroup } from './helpers/durun.js';
import { isAlive, waitFor } from './helpers/wait.js';
import { unprivilegedUser } from './helpers/user.js';
import { workspace } from './helpers/stamps.js';

const user = unprivilegedUser();
const { home, dir, cleanup } = workspace('durun-user-');
test.after(cleanup);

function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

test('user = runs the program as that user, restarts it after a crash, and a checkpoint says why it cannot', async (ctx) => {
  if (typeof user === 'string') {
    console.log(`skipped in ${ctx.__test__}: ${user}`);
    return;
  }
  chmodSync(dir, 0o755);
  const file = path.join(dir, 'user.ini');
  writeFileSync(file, `[group asuser]\ncommand = sleep 600\nuser = ${user.uid}\nrestart = on-crash\nbackoff = 0ms\n`);
  const up = durunSync(home.env, ['up', '-f', file]);
  assert.is(up.code, 0, up.stderr);
  const first = await waitGroup(home.env, 'asuser', 'its process found', (g) => g.processes.some((p) => p.state === 'running' && p.exe.endsWith('/sleep')));
  const pid = first.processes.find((p) => p.state === 'running' && p.exe.endsWith('/sleep'))!.pid;
  assert.is(uidOf(pid), user.uid, 'the program runs as the policy user');

  const ck = durunSync(home.env, ['checkpoint', 'asuser']);
  assert.is(ck.code, 1);
  assert.match(ck.stderr, new RegExp(`process ${pid} .*runs as uid ${user.uid} \\(user = in its policy\\)`));

  process.kill(pid, 'SIGKILL');
  const again = await waitGroup(home.env, 'asuser', 'restarted', (g) => g.restarts >= 1 && g.processes.some((p) => p.state === 'running' && p.pid !== pid && p.exe.endsWith('/sleep')));
  const next = again.processes.find((p) => p.state === 'running' && p.pid !== pid && p.exe.endsWith('/sleep'))!.pid;
  assert.is(uidOf(next), user.uid, 'the replacement runs as the policy user too');

  assert.is(durunSync(home.env, ['down', 'asuser']).code, 0);
  await waitFor('stopped', () => !isAlive(next));
  assert.is(group(home.env, 'asuser')?.state, 'stopped');
});

test.run();
