// Issue 3, groups: a bash script whose child writes into a pipe that another
// child reads (a process tree, restored in one pid namespace with the pipe's
// bytes in flight), and two independent programs joined into one group at
// different times, captured behind one barrier and restored together.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { durunAsync, shutdownAll } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';
import { CKPT_FIXTURES, checkpoint, checkpointKillRestore, compile, durunOk, killAll, lastTick, logMark, psOf, runningPids, ticks, waitTick, type As, rootWorkspace } from './helpers/checkpoint.js';

const { home, as, bin, cleanup } = rootWorkspace('durun-ckg');
test.after(cleanup);
const COUNTER = compile('counter.c', 'counter', bin);

test('bash script with a child and a pipe: the whole tree comes back, in order', async () => {
  durunOk(as, ['run', '--detach', '--group', 'pipe', '--restart', 'never', '--', path.join(CKPT_FIXTURES, 'pipe.sh'), '0.02']);
  // script, sleep (the quiet pipe), producer and consumer subshells
  const g = await waitFor('4 processes', () => { const v = psOf(as, 'pipe'); return v && runningPids(as, 'pipe').length === 4 ? v : undefined; }, 10_000);
  const root = g.programs[0]!.rootPid!;
  const r = await checkpointKillRestore(as, 'pipe', root);
  assert.is(r.cp.processes, 4);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
  // A restored tree checkpoints and restores again (durun-restore's own processes are left out).
  const again = await checkpointKillRestore(as, 'pipe', root);
  assert.is(again.cp.processes, 4);
  assert.ok(again.resumed > again.before && again.resumed <= again.after + 1, `second restore resumed at ${again.resumed}: not between ${again.before} and ${again.after + 1}`);
});

test('parent and child talking over a socketpair: the pair travels, no message lost or repeated', async () => {
  durunOk(as, ['run', '--detach', '--group', 'pair', '--restart', 'never', '--', '/usr/bin/python3', path.join(CKPT_FIXTURES, 'socketpair.py'), '20']);
  const g = await waitFor('parent and child', () => { const v = psOf(as, 'pair'); return v && runningPids(as, 'pair').length === 2 ? v : undefined; }, 10_000);
  const child = runningPids(as, 'pair').find((p) => p !== g.programs[0]!.rootPid)!;
  const r = await checkpointKillRestore(as, 'pair', child);
  assert.is(r.cp.processes, 2);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
});

test('two programs joined at different times: one barrier, both restored', async () => {
  durunOk(as, ['run', '--detach', '--group', 'duo', '--restart', 'never', '--', COUNTER, path.join(bin, 'duo.dat'), '20']);
  const a = await waitFor('counter', () => runningPids(as, 'duo')[0], 10_000);
  await waitTick(home.dir, 'duo', 10, a);
  durunOk(as, ['run', '--detach', '--group', 'duo', '--restart', 'never', '--', '/usr/bin/python3', path.join(CKPT_FIXTURES, 'dict.py'), '20']);
  const b = await waitFor('python joined', () => runningPids(as, 'duo').find((p) => p !== a), 10_000);
  await waitTick(home.dir, 'duo', 5, b);
  const before = { a: lastTick(home.dir, 'duo', a), b: lastTick(home.dir, 'duo', b) };
  const cp = checkpoint(as, 'duo');
  assert.is(cp.processes, 2, 'both programs in one checkpoint');
  const after = { a: lastTick(home.dir, 'duo', a), b: lastTick(home.dir, 'duo', b) };
  await waitTick(home.dir, 'duo', after.a + 10, a);
  await waitTick(home.dir, 'duo', after.b + 10, b);
  await killAll(as, 'duo');
  const mark = logMark(home.dir, 'duo');
  durunOk(as, ['restore', 'duo']);
  for (const [pid, lo, hi] of [[a, before.a, after.a], [b, before.b, after.b]] as const) {
    const first = await waitFor(`restored ${pid}`, () => ticks(home.dir, 'duo', mark).ticks.find((t) => t.pid === pid), 15_000);
    assert.ok(first.n > lo && first.n <= hi + 1, `pid ${pid} resumed at ${first.n}: not between ${lo} and ${hi + 1}`);
    await waitTick(home.dir, 'duo', first.n + 5, pid, mark);
  }
  assert.equal(ticks(home.dir, 'duo').fails, []);
  assert.is(psOf(as, 'duo')!.programs.filter((p) => p.state === 'running').length, 2);
});

test('registering during a barrier: before ckpt-go it joins the checkpoint, after it is held until the members resume', async () => {
  const h = tempHome('durun-ckj-');
  const as2: As = { env: { ...h.env, DURUN_FAULT: 'supervisor:delay-go=2000,supervisor:delay-resume=2000' }, home: h.dir, wrap: (c) => c };
  const log = () => { try { return readFileSync(path.join(h.dir, 'supervisor.log'), 'utf8'); } catch { return ''; } };
  try {
    durunOk(as2, ['run', '--detach', '--group', 'j', '--restart', 'never', '--', COUNTER, path.join(bin, 'j1.dat'), '20']);
    const a = await waitFor('first program', () => runningPids(as2, 'j')[0], 10_000);
    await waitTick(h.dir, 'j', 3, a);
    const cp = durunAsync(as2.env, ['checkpoint', 'j', '--json']);
    await waitFor('barrier up (delay-go)', () => /delay-go/.test(log()), 10_000);
    durunOk(as2, ['run', '--detach', '--group', 'j', '--restart', 'never', '--', COUNTER, path.join(bin, 'j2.dat'), '20']);
    const b = await waitFor('second program registered', () => runningPids(as2, 'j').find((p) => p !== a), 10_000);
    await waitFor('members captured (delay-resume)', () => /delay-resume/.test(log()), 15_000);
    durunOk(as2, ['run', '--detach', '--group', 'j', '--restart', 'never', '--', COUNTER, path.join(bin, 'j3.dat'), '20']);
    const c = await waitFor('third program registered', () => runningPids(as2, 'j').find((p) => p !== a && p !== b), 10_000);
    await waitFor(`${c} held stopped`, () => procState(c) === 'T', 5_000);
    const res = await cp.done;
    assert.is(res.code, 0, res.stderr);
    const taken = JSON.parse(res.stdout) as { processes: number; dir: string };
    assert.is(taken.processes, 2, 'the first program and the one that joined before ckpt-go');
    assert.ok(existsSync(path.join(taken.dir, `${b}.img`)), 'the joiner has its image');
    assert.not.ok(existsSync(path.join(taken.dir, `${c}.img`)), 'the late one has none');
    await waitFor(`${c} released`, () => procState(c) !== 'T', 5_000);
    await waitTick(h.dir, 'j', 3, c);
  } finally {
    shutdownAll(h.env);
    h.cleanup();
  }
});

function procState(pid: number): string {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}

test.run();
