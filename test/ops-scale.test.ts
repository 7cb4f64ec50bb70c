// Issue 13 at scale: what the cheaper persistence and the concurrent
// stop-all must still keep. A burst of launches and a removal are on disk
// the moment their commands return (state.log), even with the runners
// unable to re-attach; stop-all stops policy groups in reverse dependency
// order beside ad-hoc groups; and a runner that started a supervisor signals
// only its own program, not the runners that supervisor started (they
// re-parent to it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { durunSync, group, policyUp, ps, shutdownAll, waitGroup } from './helpers/durun.js';
import { isAlive, waitFor } from './helpers/wait.js';
import { order, readyGroup, workspace } from './helpers/stamps.js';

const { home, dir, cleanup } = workspace('durun-scale-');
test.after(cleanup);

const supervisorPid = () => Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));

/** The runners of this home: durun's C runner (comm `durun`) started with its DURUN_HOME. */
function runnersOfHome(): number[] {
  const mark = `DURUN_HOME=${home.dir}\0`;
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'durun') continue;
      if (readFileSync(`/proc/${d}/environ`, 'latin1').includes(mark)) out.push(Number(d));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return out;
}

async function killSupervisor(): Promise<void> {
  const pid = supervisorPid();
  process.kill(pid, 'SIGKILL');
  await waitFor('supervisor gone', () => !isAlive(pid));
}

test('a burst of launches and a removal survive kill -9 of the supervisor right after, with the runners held', async () => {
  assert.is(durunSync(home.env, ['--detach', '--group', 'gone', '--', 'true']).code, 0);
  await waitGroup(home.env, 'gone', 'finished', (g) => g.state === 'exited');
  const names = Array.from({ length: 20 }, (_, i) => `burst${i}`);
  names.forEach((name, i) => assert.is(durunSync(home.env, ['--detach', '--group', name, '--', 'sleep', `${4800 + i}`]).code, 0));
  assert.is(durunSync(home.env, ['rm', 'gone']).code, 0);
  // Held runners cannot re-attach: the next supervisor knows only what was written down.
  const runners = runnersOfHome();
  assert.ok(runners.length >= names.length, `found ${runners.length} runners`);
  for (const r of runners) process.kill(r, 'SIGSTOP');
  try {
    await killSupervisor();
    // A line torn by a crash in the middle of a write is skipped, and does not swallow what comes after it.
    appendFileSync(path.join(home.dir, 'state.log'), '{"seq":999999,"op":"prog');
    const view = ps(home.env);
    const byName = new Map(view.groups.map((g) => [g.name, g]));
    for (const [i, name] of names.entries()) {
      assert.equal(byName.get(name)?.programs.map((p) => p.argv), [['sleep', `${4800 + i}`]], `${name} known to the next supervisor`);
    }
    assert.not.ok(byName.has('gone'), 'the removed group stays removed');
  } finally {
    for (const r of runners) if (isAlive(r)) process.kill(r, 'SIGCONT');
  }
  // Released, the runners re-attach to the programs they run: one each, none started again.
  for (const [i, name] of names.entries()) {
    const sleeps = (x: { processes: Array<{ state: string; argv: string[] }> }) => x.processes.filter((p) => p.state === 'running' && p.argv.join(' ') === `sleep ${4800 + i}`);
    const g = await waitGroup(home.env, name, 're-attached', (x) => x.programs.every((p) => p.runnerConnected) && sleeps(x).length > 0, 20_000);
    assert.is(g.programs.length, 1);
    assert.is(sleeps(g).length, 1, `${name}: one sleep`);
  }
  // A launch after the restart is kept too (the torn line was dropped with the snapshot the restart wrote).
  assert.is(durunSync(home.env, ['--detach', '--group', 'after', '--', 'sleep', '4899']).code, 0);
  const held = runnersOfHome().filter((r) => !runners.includes(r));
  assert.is(held.length, 1);
  process.kill(held[0]!, 'SIGSTOP');
  try {
    await killSupervisor();
    assert.ok(ps(home.env).groups.some((g) => g.name === 'after'), 'a launch after the torn line is kept');
  } finally {
    process.kill(held[0]!, 'SIGCONT');
  }
});

test('shutdown --stop-all stops policy groups in reverse dependency order, ad-hoc groups beside them', async () => {
  const log = path.join(dir, 'chain.log');
  const file = path.join(dir, 'chain.ini');
  writeFileSync(file, readyGroup('sa', log) + readyGroup('sb', log, ['depends = sa']) + readyGroup('sc', log, ['depends = sb']));
  const up = durunSync(home.env, ['up', '-f', file]);
  assert.is(up.code, 0, up.stderr);
  assert.is(durunSync(home.env, ['--detach', '--group', 'loose', '--', 'sleep', '4898']).code, 0);
  const loose = (await waitGroup(home.env, 'loose', 'running', (g) => g.processes.some((p) => p.state === 'running'))).processes.find((p) => p.state === 'running')!.pid;
  const pid = supervisorPid();
  assert.is(durunSync(home.env, ['shutdown', '--stop-all']).code, 0);
  await waitFor('supervisor gone', () => !isAlive(pid), 30_000);
  assert.equal(order(log, 'stop'), ['sc', 'sb', 'sa']);
  assert.not.ok(isAlive(loose), 'the ad-hoc group was stopped too');
});

const ppidOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);

test('a runner that started the next supervisor stops only its own program, not the runners that supervisor started', async () => {
  shutdownAll(home.env); // its runner alone may start the next supervisor
  assert.is(durunSync(home.env, ['--detach', '--group', 'first', '--', 'sleep', '4897']).code, 0);
  const first = await waitGroup(home.env, 'first', 'running', (g) => g.programs.every((p) => p.runnerConnected) && g.processes.some((p) => p.state === 'running'));
  const runner = first.programs[0]!.runnerPid;
  await killSupervisor();
  // No durun command until the runner has started the next supervisor, as its own child.
  await waitFor('a supervisor started by the runner', () => {
    const pid = existsSync(path.join(home.dir, 'supervisor.sock')) ? supervisorPid() : 0;
    return pid && isAlive(pid) && ppidOf(pid) === runner;
  }, 15_000);
  // A group that supervisor starts: its detached runner's starter exits, so it re-parents to the nearest subreaper, our runner.
  policyUp(home.env, dir, 'second', '[group second]\ncommand = sleep 4896\n');
  const second = await waitGroup(home.env, 'second', 'running', (g) => g.processes.some((p) => p.state === 'running' && p.argv.join(' ') === 'sleep 4896'));
  const secondRunner = second.programs[0]!.runnerPid;
  assert.is(ppidOf(secondRunner), runner, 'the second runner lives in the first runner\'s tree');
  const stop = durunSync(home.env, ['stop', 'first']);
  assert.is(stop.code, 0, stop.stderr);
  assert.ok(isAlive(secondRunner), 'the other group\'s runner was not signalled');
  assert.is(group(home.env, 'second')?.state, 'running');

});

test('the supervisor\'s own walk of an unlinked runner\'s tree leaves out the runners that runner adopted', async () => {
  shutdownAll(home.env); // no other runner left to start the next supervisor in the held one's place
  assert.is(durunSync(home.env, ['--detach', '--group', 'held', '--', 'sleep', '4895']).code, 0);
  const held = (await waitGroup(home.env, 'held', 'running', (g) => g.programs.every((p) => p.runnerConnected) && g.processes.some((p) => p.state === 'running'))).programs[0]!.runnerPid;
  await killSupervisor();
  await waitFor('a supervisor started by the held group\'s runner', () => {
    const pid = existsSync(path.join(home.dir, 'supervisor.sock')) ? supervisorPid() : 0;
    return pid && isAlive(pid) && ppidOf(pid) === held;
  }, 15_000);
  policyUp(home.env, dir, 'adopted', '[group adopted]\ncommand = sleep 4894\n');
  const adopted = await waitGroup(home.env, 'adopted', 'running', (g) => g.processes.some((p) => p.state === 'running' && p.argv.join(' ') === 'sleep 4894'));
  const adoptedRunner = adopted.programs[0]!.runnerPid;
  const sleep = adopted.processes.find((p) => p.state === 'running' && p.argv.join(' ') === 'sleep 4894')!.pid;
  assert.is(ppidOf(adoptedRunner), held, 'the adopted runner lives in the held runner\'s tree');
  // Held, the runner cannot re-attach: the next supervisor stops its program by walking the runner's tree itself.
  process.kill(held, 'SIGSTOP');
  try {
    const before = supervisorPid();
    process.kill(before, 'SIGKILL');
    // The adopted runner starts the next one; no durun command until then.
    await waitFor('the next supervisor, started by the adopted runner', () => {
      const pid = existsSync(path.join(home.dir, 'supervisor.sock')) ? supervisorPid() : 0;
      return pid !== before && pid && isAlive(pid) && ppidOf(pid) === adoptedRunner;
    }, 15_000);
    const stop = durunSync(home.env, ['stop', 'held']);
    assert.is(stop.code, 0, stop.stderr);
    assert.ok(isAlive(sleep), 'the adopted group\'s program was not signalled');
    await waitGroup(home.env, 'adopted', 'still running', (g) => g.state === 'running' && g.processes.some((p) => p.pid === sleep && p.state === 'running'));
  } finally {
    process.kill(held, 'SIGCONT');
  }
});

test.run();
