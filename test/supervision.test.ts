// Issue 2: restarts after crashes, detached groups with logs, stop/restart,
// and a supervisor that dies without taking any program with it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { durunAsync, durunSync, group, shutdownAll, waitGroup } from './helpers/durun.js';
import { isAlive, waitFor } from './helpers/wait.js';
import type { GroupView } from '../supervisor/src/protocol/views.js';

const home = tempHome();
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
});

const running = (g: GroupView, argv: string) => g.processes.find((p) => p.state === 'running' && p.argv.join(' ') === argv);

test('kill -9 of a child restarts the whole program', async () => {
  const { done } = durunAsync(home.env, ['--group', 'crashy', '--', 'sh', '-c', 'sleep 400 & wait']);
  const first = await waitGroup(home.env, 'crashy', 'child running', (g) => !!running(g, 'sleep 400'));
  const child = running(first, 'sleep 400')!;
  const oldRoot = first.programs[0]!.rootPid;
  process.kill(child.pid, 'SIGKILL');
  const second = await waitGroup(home.env, 'crashy', 'restarted', (g) => g.restarts === 1 && !!running(g, 'sleep 400') && g.programs[0]!.rootPid !== oldRoot);
  assert.is(second.programs[0]!.instance, 2);
  assert.ok(!isAlive(oldRoot!), 'old root gone');
  const killed = second.processes.find((p) => p.pid === child.pid);
  assert.is(killed?.state, 'killed');
  assert.is(killed?.signal, 9);
  assert.is(durunSync(home.env, ['stop', 'crashy']).code, 0);
  const res = await done;
  assert.is(res.code, 143, `foreground durun ends with the stopped program's status: ${res.stderr}`);
});

test('detached group: output in logs with time and pid, private files', async () => {
  const res = durunSync(home.env, ['--detach', '--group', 'talker', '--', 'sh', '-c', 'echo hello-out; echo hello-err >&2; exec sleep 400']);
  assert.is(res.code, 0, res.stderr);
  assert.match(res.stdout, /started group talker/);
  const g = await waitGroup(home.env, 'talker', 'running', (g) => !!running(g, 'sleep 400'));
  const log = g.programs[0]!.logPath;
  await waitFor('log lines', () => existsSync(log) && readFileSync(log, 'utf8').includes('hello-err'));
  assert.is(statSync(log).mode & 0o777, 0o600);
  const logs = durunSync(home.env, ['logs', 'talker']);
  assert.match(logs.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \d+ stdout hello-out$/m);
  assert.match(logs.stdout, /stderr hello-err$/m);
});

test('restart and stop of a detached group', async () => {
  const before = group(home.env, 'talker')!;
  const oldPid = running(before, 'sleep 400')!.pid;
  assert.is(durunSync(home.env, ['restart', 'talker']).code, 0);
  const after = await waitGroup(home.env, 'talker', 'new instance', (g) => !!running(g, 'sleep 400') && running(g, 'sleep 400')!.pid !== oldPid);
  assert.ok(!isAlive(oldPid));
  assert.is(after.state, 'running');
  const stop = durunSync(home.env, ['stop', 'talker']);
  assert.is(stop.code, 0, stop.stderr);
  const stopped = group(home.env, 'talker')!;
  assert.is(stopped.state, 'stopped');
  assert.ok(!isAlive(running(after, 'sleep 400')!.pid));
});

test('kill -9 of the supervisor: programs live on and are re-adopted', async () => {
  const flag = path.join(home.dir, 'finish-now');
  const { done } = durunAsync(home.env, ['--group', 'survivor', '--', 'sh', '-c', `sleep 500 & while [ ! -e ${flag} ]; do sleep 0.05; done; kill $!; exit 9`]);
  const g = await waitGroup(home.env, 'survivor', 'running', (g) => !!running(g, 'sleep 500'));
  // The root and its long-lived child (the loop's short sleeps come and go).
  const pids = [g.programs[0]!.rootPid!, running(g, 'sleep 500')!.pid];
  const supervisorPid = Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));
  process.kill(supervisorPid, 'SIGKILL');
  await waitFor('old supervisor gone', () => !isAlive(supervisorPid));
  for (const pid of pids) assert.ok(isAlive(pid), `process ${pid} survived the supervisor`);

  // The next command starts a new supervisor, which re-adopts the same processes.
  const again = await waitGroup(home.env, 'survivor', 're-adopted with runner link', (g) =>
    pids.every((pid) => g.processes.some((p) => p.pid === pid && p.state === 'running')) && g.programs[0]!.runnerConnected);
  assert.not.equal(Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8')), supervisorPid);
  assert.is(again.restarts, 0);
  writeFileSync(flag, '');
  const res = await done;
  assert.is(res.code, 9, `foreground durun still gets the exit status: ${res.stderr}`);
});

test('after re-adoption a crash is still detected and restarted', async () => {
  const res = durunSync(home.env, ['--detach', '--group', 'phoenix', '--', 'sh', '-c', 'sleep 600 & wait']);
  assert.is(res.code, 0, res.stderr);
  const g = await waitGroup(home.env, 'phoenix', 'running', (g) => !!running(g, 'sleep 600'));
  const supervisorPid = Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));
  process.kill(supervisorPid, 'SIGKILL');
  await waitFor('old supervisor gone', () => !isAlive(supervisorPid));
  await waitGroup(home.env, 'phoenix', 'interceptors called home', (g2) => g2.programs[0]!.runnerConnected && !!running(g2, 'sleep 600'));
  process.kill(running(g, 'sleep 600')!.pid, 'SIGKILL');
  await waitGroup(home.env, 'phoenix', 'restarted after crash', (g2) => g2.restarts === 1 && !!running(g2, 'sleep 600'));
});

test('a group started just before the supervisor is killed is known to the next one at once', async () => {
  const res = durunSync(home.env, ['--detach', '--group', 'justnow', '--', 'sleep', '600']);
  assert.is(res.code, 0, res.stderr);
  // Killed within the state file's coalescing second: the new program must be on disk already.
  const supervisorPid = Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));
  process.kill(supervisorPid, 'SIGKILL');
  await waitFor('old supervisor gone', () => !isAlive(supervisorPid));
  const ps = durunSync(home.env, ['ps', 'justnow', '--json']);
  assert.is(ps.code, 0, `the next supervisor does not know the group: ${ps.stderr}`);
  assert.is((JSON.parse(ps.stdout) as { groups: GroupView[] }).groups[0]!.name, 'justnow');
});

test('stopping a group whose runner has not re-attached spares the supervisor that runner started', async () => {
  // A home of its own: the runners of the other tests would race this one to start the next supervisor.
  const home = tempHome('durun-orph-');
  try {
    await orphanedScenario(home);
  } finally {
    shutdownAll(home.env);
    home.cleanup();
  }
});

async function orphanedScenario(home: ReturnType<typeof tempHome>): Promise<void> {
  const res = durunSync(home.env, ['--detach', '--group', 'orphaned', '--', 'sleep', '700']);
  assert.is(res.code, 0, res.stderr);
  const g = await waitGroup(home.env, 'orphaned', 'running', (x) => x.programs[0]!.rootPid !== null && !!running(x, 'sleep 700'));
  const runnerPid = g.programs[0]!.runnerPid;
  const root = g.programs[0]!.rootPid!;
  const children = () => readFileSync(`/proc/${runnerPid}/task/${runnerPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const old = Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));
  process.kill(old, 'SIGKILL');
  // The runner starts the next supervisor as its own child; stop the runner before it re-attaches.
  const next = await waitFor('the runner forked the next supervisor', () => children().find((c) => c !== root), 15_000, 2);
  process.kill(runnerPid, 'SIGSTOP');
  try {
    await waitFor('the next supervisor is up', () => Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8')) !== old, 15_000);
    const stop = durunSync(home.env, ['stop', 'orphaned']);
    assert.is(stop.code, 0, stop.stderr);
    await waitFor('program stopped', () => !isAlive(root));
    const sup = Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));
    assert.ok(isAlive(sup), `the supervisor ${sup} (forked by the runner as ${next}) signalled itself along with the runner's subtree`);
  } finally {
    try { process.kill(runnerPid, 'SIGCONT'); } catch { /* stopped for good */ }
  }
}

test.run();
