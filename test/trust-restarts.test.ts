// Issue 8: restart decisions as operators know them from systemd, each
// taken from the lifecycle table: a root killed with descendants alive, a
// producer ended by SIGPIPE, a root that ends itself with SIGTERM, stop and
// restart during a backoff, and a zombie child.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { durunSync, group, shutdownAll, waitGroup } from './helpers/durun.js';
import { events, waitEvent } from './helpers/events.js';
import { DURUN_BIN } from './helpers/paths.js';
import { isAlive, waitFor } from './helpers/wait.js';
import type { GroupView } from '../supervisor/src/protocol/views.js';

const home = tempHome();
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
});

const running = (g: GroupView, needle: string) => g.processes.find((p) => p.state === 'running' && p.argv.join(' ').includes(needle));
const lines = (file: string) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

test('kill -9 of a script whose descendants live on ends the whole tree and restarts it', async () => {
  const r = durunSync(home.env, ['--detach', '--group', 'bt', '--', 'bash', '-c', '(setsid sleep 5011 &); sleep 5012; echo after']);
  assert.is(r.code, 0, r.stderr);
  const g = await waitGroup(home.env, 'bt', 'daemon and main up', (x) => !!running(x, 'sleep 5011') && !!running(x, 'sleep 5012'));
  const root = g.programs[0]!.rootPid!;
  const daemon = running(g, 'sleep 5011')!.pid;
  process.kill(root, 'SIGKILL');
  await waitEvent(home.env, 'bt', 'crash fault of the root', (e) => e.type === 'fault' && e.pid === root);
  const again = await waitGroup(home.env, 'bt', 'restarted with a new tree', (x) => x.restarts === 1 && !!running(x, 'sleep 5011') && running(x, 'sleep 5011')!.pid !== daemon);
  await waitFor('the old daemon was ended with its tree', () => !isAlive(daemon));
  assert.is(again.processes.filter((p) => p.state === 'running' && p.argv.join(' ') === 'sleep 5011').length, 1);
});

test('a producer ended by SIGPIPE runs once, as does a root that ends itself with SIGTERM', () => {
  const starts = path.join(home.dir, 'starts');
  writeFileSync(starts, '');
  const pipe = spawnSync('sh', ['-c', `"${DURUN_BIN}" --group prod -- sh -c 'echo x >> "${starts}"; exec seq 1 100000000' | head -n 1`], { env: home.env, encoding: 'utf8', timeout: 30_000 });
  assert.is(pipe.stdout, '1\n');
  assert.is(lines(starts).length, 1, 'the producer was started once');
  assert.is(group(home.env, 'prod')!.state, 'exited');

  const term = path.join(home.dir, 'term');
  const self = durunSync(home.env, ['--group', 'selfterm', '--', 'sh', '-c', `echo x >> "${term}"; kill -TERM $$`]);
  assert.is(self.code, 143, 'the shell status of a SIGTERM death');
  assert.is(lines(term).length, 1, 'a root that ends by SIGTERM is a clean end (on-crash does not restart it)');
  const always = path.join(home.dir, 'always');
  const again = durunSync(home.env, ['--group', 'termalways', '--restart', 'always', '--max-restarts', '2', '--backoff', '1', '--', 'sh', '-c', `echo x >> "${always}"; kill -TERM $$`]);
  assert.is(lines(always).length, 3, 'restart = always restarts a clean end (2 restarts, then failed)');
  assert.is(again.code, 143);
});

test('stop and restart act at once while a program waits out its backoff', async () => {
  const starts = path.join(home.dir, 'bo');
  // A backoff of ten minutes: a stop or restart that waited it out would time out (15 s) and fail.
  const r = durunSync(home.env, ['--detach', '--group', 'bo', '--restart', 'always', '--backoff', '600000', '--backoff-max', '600000', '--', 'sh', '-c', `echo x >> "${starts}"; sleep 0.2; exit 1`]);
  assert.is(r.code, 0, r.stderr);
  await waitGroup(home.env, 'bo', 'in backoff after its second end', (g) => g.state === 'restarting' && lines(starts).length === 2, 15_000);
  const restart = durunSync(home.env, ['restart', 'bo']);
  assert.is(restart.code, 0, restart.stderr);
  await waitFor('started again at once', () => lines(starts).length === 3);
  await waitGroup(home.env, 'bo', 'in backoff again', (g) => g.state === 'restarting');
  const stop = durunSync(home.env, ['stop', 'bo']);
  assert.is(stop.code, 0, stop.stderr);
  const g = group(home.env, 'bo')!;
  assert.is(g.state, 'stopped');
  assert.is(g.programs[0]!.state, 'stopped');
  await waitFor('its runner finished', () => !isAlive(g.programs[0]!.runnerPid));
  assert.is(lines(starts).length, 3, 'nothing started after the stop');
});

test('a child killed under a parent that never reaps it is a zombie, a crash of the instance', async () => {
  const py = 'import os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(1000)\n    os._exit(0)\nprint(pid, flush=True)\nwhile True:\n    time.sleep(1000)\n';
  const script = path.join(home.dir, 'noreap.py');
  writeFileSync(script, py);
  const r = durunSync(home.env, ['--detach', '--group', 'zomb', '--max-restarts', '5', '--', 'python3', script]);
  assert.is(r.code, 0, r.stderr);
  // The python child: a running process whose parent is the root, seen alive in /proc (not a record on its way out).
  const pythonChild = (x: GroupView) => x.processes.find((p) => p.state === 'running' && p.ppid === x.programs[0]?.rootPid && isAlive(p.pid));
  const g = await waitGroup(home.env, 'zomb', 'parent and child up', (x) => pythonChild(x) !== undefined);
  const root = g.programs[0]!.rootPid!;
  const child = pythonChild(g)!.pid;
  process.kill(child, 'SIGKILL');
  const seen = await waitGroup(home.env, 'zomb', 'the child is shown as a zombie or the instance restarted', (x) =>
    x.processes.some((p) => p.pid === child && (p.state === 'zombie' || p.state === 'killed')), 15_000);
  assert.is(seen.processes.find((p) => p.pid === child)!.signal, 9, 'its end is SIGKILL, read from the zombie');
  await waitEvent(home.env, 'zomb', 'crash fault of the child', (e) => e.type === 'fault' && e.pid === child);
  await waitGroup(home.env, 'zomb', 'restarted', (x) => x.restarts === 1 && x.programs[0]!.rootPid !== root && x.programs[0]!.rootPid !== null, 15_000);
  assert.ok(events(home.env, ['--group', 'zomb']).some((e) => e.type === 'restart'));
});

test.run();
