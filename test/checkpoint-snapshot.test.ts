// Snapshot checkpoints: each member is captured at the barrier and a fork
// child (comm "durun-writer") writes its pages from a copy-on-write snapshot
// while the group runs on. What must hold: the programs run while the images
// are written, yet the image is the barrier's state; a writer that fails or
// is killed aborts that checkpoint only (the previous one stays the latest,
// the program is untouched and never taken for crashed); memory a fork child
// cannot see (MADV_DONTFORK) makes durun write that group's images in place.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { durunAsync } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';
import { events } from './helpers/events.js';
import { checkpoint, checkpointKillRestore, compile, durun, durunOk, killAll, lastTick, logMark, psOf, runningPids, ticks, waitTick, rootWorkspace } from './helpers/checkpoint.js';

const { home, as, bin, cleanup } = rootWorkspace('durun-cks');
test.after(cleanup);
const COUNTER = compile('counter.c', 'counter', bin);

/** A detached counter in its own group, with extra environment for the program; returns its pid. */
async function start(group: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<number> {
  durunOk(as, ['run', '--detach', '--restart', 'never', '--group', group, '--', COUNTER, path.join(bin, `${group}.dat`), '20', ...args], { env: { ...home.env, ...env } });
  const pid = await waitFor(`${group} running`, () => runningPids(as, group)[0], 10_000);
  await waitTick(home.dir, group, 5, pid);
  return pid;
}

function ppidOf(pid: number | string): number {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * Writers of member pid: processes named durun-writer (a writer names itself
 * at once) that are orphans under the member's runner, the subreaper above
 * it (other tests' writers may be at work on this machine too).
 */
function writers(pid: number): number[] {
  const runner = ppidOf(pid);
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'durun-writer' && ppidOf(d) === runner) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function listed(group: string): string[] {
  return (JSON.parse(durunOk(as, ['checkpoints', group, '--json'])) as { checkpoints: Array<{ id: string }> }).checkpoints.map((c) => c.id);
}

test('the group runs on while its image is written, and the image is the barrier state', async () => {
  const pid = await start('run-on', { DURUN_FAULT: 'ckpt:writer-delay=3000' });
  const cp = durunAsync(home.env, ['checkpoint', 'run-on', '--json']);
  const writer = await waitFor('the writer at work', () => writers(pid)[0], 10_000);
  const atBarrier = lastTick(home.dir, 'run-on', pid);
  await waitTick(home.dir, 'run-on', atBarrier + 10, pid);
  assert.ok(writers(pid).includes(writer), 'the program ticked on while its writer was still at work');
  assert.equal(runningPids(as, 'run-on'), [pid], 'the writer is durun\'s own: not listed as a process of the group');
  const res = await cp.done;
  assert.is(res.code, 0, res.stderr);
  const taken = JSON.parse(res.stdout) as { stallMs: number; durationMs: number };
  assert.ok(taken.durationMs >= 3000, `the checkpoint waited for its writer (took ${taken.durationMs} ms)`);
  // Restored, it continues from the barrier, not from when the image was finished.
  await killAll(as, 'run-on');
  const mark = logMark(home.dir, 'run-on');
  durunOk(as, ['restore', 'run-on']);
  const first = await waitFor('restored ticks', () => ticks(home.dir, 'run-on', mark).ticks.find((t) => t.pid === pid), 15_000);
  assert.ok(first.n <= atBarrier + 2, `resumed at ${first.n}, but the barrier was at about ${atBarrier}`);
  await waitTick(home.dir, 'run-on', first.n + 5, pid, mark);
  assert.equal(ticks(home.dir, 'run-on').fails, []);
});

test('an incremental snapshot restores: what the program wrote after the full image comes from the increment', async () => {
  const pid = await start('incr');
  assert.equal(checkpoint(as, 'incr').kinds, ['full']);
  await waitTick(home.dir, 'incr', lastTick(home.dir, 'incr', pid) + 10, pid);
  const r = await checkpointKillRestore(as, 'incr', pid);
  assert.equal(r.cp.kinds, ['incremental']);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
});

test('a writer that fails aborts only that checkpoint; the next one is full', async () => {
  const pid = await start('wfail', { DURUN_FAULT: 'ckpt:memory@2' });
  const first = checkpoint(as, 'wfail');
  const failed = durun(as, ['checkpoint', 'wfail']);
  assert.is(failed.code, 1);
  assert.match(failed.stderr, /previous checkpoint stays the latest/);
  assert.match(failed.stderr, new RegExp(`image writer of process ${pid} could not write its image: .*fault injected at memory`));
  assert.equal(listed('wfail'), [first.id]);
  const at = lastTick(home.dir, 'wfail', pid);
  await waitTick(home.dir, 'wfail', at + 3, pid);
  const third = checkpoint(as, 'wfail');
  assert.equal(third.kinds, ['full'], 'after an abort the chain starts again');
  const g = psOf(as, 'wfail')!;
  assert.is(g.restarts, 0);
  assert.equal(runningPids(as, 'wfail'), [pid]);
});

test('a writer killed mid-image: abort at once, the program is not taken for crashed', async () => {
  const pid = await start('wkill', { DURUN_FAULT: 'ckpt:writer-delay=30000' });
  const before = listed('wkill');
  const cp = durunAsync(home.env, ['checkpoint', 'wkill']);
  const writer = await waitFor('the writer at work', () => writers(pid)[0], 10_000);
  process.kill(writer, 'SIGKILL');
  const res = await cp.done;
  assert.is(res.code, 1);
  assert.match(res.stderr, new RegExp(`image writer ${writer} of process ${pid} ended without finishing its image`));
  assert.equal(listed('wkill'), before);
  const at = lastTick(home.dir, 'wkill', pid);
  await waitTick(home.dir, 'wkill', at + 3, pid);
  const g = psOf(as, 'wkill')!;
  assert.is(g.restarts, 0, 'the runner reaped the killed writer: not a crash of the program');
  assert.equal(g.processes.filter((p) => p.state === 'running').map((p) => p.pid), [pid]);
});

test('memory a fork child cannot see (MADV_DONTFORK): the image is written in place and restores', async () => {
  const pid = await start('dontfork', {}, ['dontfork']);
  const r = await checkpointKillRestore(as, 'dontfork', pid);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
  const aborted = events(home.env, ['--group', 'dontfork', '--type', 'checkpoint']).filter((e) => e.data?.failed);
  assert.ok(aborted.some((e) => /MADV_DONTFORK/.test(e.reason)), 'the snapshot attempt was refused with the reason, then written in place');
});

test.run();
