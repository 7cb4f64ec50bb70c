// Issue 5 end to end: health checks (hang, threshold, grace, cron), durun
// health exit codes, the escalation ladder and error correlation as seen in
// durun events --json, on_event hooks, and the journal across kill -9.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempHome, removeTree } from './helpers/home.js';
import { durunSync, policyUp, shutdownAll } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';
import { events, waitEvent } from './helpers/events.js';

const home = tempHome();
const dir = mkdtempSync(path.join(os.tmpdir(), 'durun-h-'));
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
  removeTree(dir);
});

/** Writes a policy file and brings its groups up. */
const up = (name: string, text: string) => policyUp(home.env, dir, name, text);

/** A /proc entry of any kind (running or zombie) for pid. */
const inProc = (pid: number) => existsSync(`/proc/${pid}`);

test('a check that never answers is killed at its timeout with its whole tree, and raises a fault', async () => {
  const pids = path.join(dir, 'hang.pids');
  // The check forks a sleeper, and a setsid'd double-forked one that escapes its process group.
  up('hang', `[group hang]
command = sleep 1000
check.stuck.command = "echo $$ >> ${pids}; sleep 1000 & echo $! >> ${pids}; (setsid sleep 1000 & echo $! >> ${pids}); wait"
check.stuck.interval = 10s
check.stuck.timeout = 400ms
check.stuck.threshold = 1
recovery = failover
`);
  const fault = await waitEvent(home.env, 'hang', 'a hang fault', (e) => e.type === 'fault');
  assert.is(fault.data?.kind, 'hang');
  assert.match(fault.reason, /check stuck timed out after 400 ms/);
  const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
  assert.is(started.length, 3);
  for (const pid of started) assert.not.ok(inProc(pid), `check process ${pid} is left in /proc`);
  // failover is not available: skipped with a reason, and the ladder is exhausted.
  const skipped = await waitEvent(home.env, 'hang', 'failover skipped', (e) => e.type === 'recovery-skipped');
  assert.is(skipped.data?.step, 'failover');
  await waitEvent(home.env, 'hang', 'group failed', (e) => e.type === 'group-failed');
  const bb = fault.data?.blackbox as { events: unknown[] } | undefined;
  assert.ok(bb && bb.events.length > 0, 'the fault carries the black-box record');
});

test('threshold: only N consecutive failures make a fault', async () => {
  const n = path.join(dir, 'thr.n');
  // Runs 1, 2 fail; 3 passes; 4 and on fail: with threshold 3 the fault comes at run 6.
  up('thr', `[group thr]
command = sleep 1000
check.c.command = "n=$(( $(cat ${n} 2>/dev/null || echo 0) + 1 )); echo $n > ${n}; [ $n -eq 3 ]"
check.c.interval = 50ms
check.c.threshold = 3
recovery = failover
`);
  const fault = await waitEvent(home.env, 'thr', 'a fault', (e) => e.type === 'fault');
  assert.is(fault.data?.kind, 'unhealthy');
  assert.is(fault.data?.runs, 6);
  assert.is(fault.data?.status, 1);
});

test('grace period: failures right after the start do not count', async () => {
  up('grace', `[group grace]
command = sleep 1000
check.c.command = false
check.c.interval = 50ms
check.c.threshold = 1
check.c.grace = 1500ms
recovery = failover
`);
  const start = await waitEvent(home.env, 'grace', 'process start', (e) => e.type === 'process-start');
  const fault = await waitEvent(home.env, 'grace', 'a fault', (e) => e.type === 'fault');
  assert.ok(Date.parse(fault.time) - Date.parse(start.time) >= 1500, `fault ${fault.time} within the grace period after ${start.time}`);
  assert.ok((fault.data?.runs as number) > 1, 'failures within the grace period were not counted');
});

test('a cron schedule with a seconds field fires on its schedule', async () => {
  const log = path.join(dir, 'cron.log');
  up('cron', `[group cron]
command = sleep 1000
check.c.command = date +%s.%N >> ${log}
check.c.cron = */2 * * * * *
check.c.timeout = 5s
`);
  const times = await waitFor('three cron runs', () => {
    const t = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map(Number) : [];
    return t.length >= 3 ? t : null;
  }, 20_000, 100);
  const seconds = new Set<number>();
  for (const t of times.slice(0, 3)) {
    const whole = Math.floor(t);
    assert.is(whole % 2, 0, `run at ${t} is not on an even second`);
    assert.ok(t - whole < 0.5, `run at ${t} is more than 500 ms after its scheduled second`);
    seconds.add(whole);
  }
  assert.is(seconds.size, 3, 'one run per scheduled second');
  assert.is(durunSync(home.env, ['down', 'cron']).code, 0);
});

test('durun health: exit 0 only when every check passes; results reach the supervisor', () => {
  const flag = path.join(dir, 'health.bad');
  up('hc', `[group hc]
command = sleep 1000
check.ok.command = true
check.ok.interval = 1h
check.maybe.command = "if [ -e ${flag} ]; then echo broken; exit 3; fi"
check.maybe.interval = 1h
check.maybe.threshold = 1
recovery = failover
`);
  const good = durunSync(home.env, ['health', 'hc']);
  assert.is(good.code, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /hc\/ok: healthy/);
  writeFileSync(flag, '');
  const bad = durunSync(home.env, ['health', 'hc', '--json']);
  assert.is(bad.code, 1);
  const res = JSON.parse(bad.stdout) as { healthy: boolean; checks: Array<{ check: string; healthy: boolean; status: number; output: string }> };
  assert.is(res.healthy, false);
  const maybe = res.checks.find((c) => c.check === 'maybe')!;
  assert.equal([maybe.healthy, maybe.status, maybe.output], [false, 3, 'broken']);
  const fault = events(home.env, ['--group', 'hc', '--type', 'fault'])[0];
  assert.ok(fault && fault.data?.check === 'maybe', 'the failing verdict of durun health raised a fault in the supervisor');
  const unknown = durunSync(home.env, ['health', 'nosuch']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /has no health checks/);
  assert.is(durunSync(home.env, ['health', 'a', 'b']).code, 2);
});

test('the escalation ladder, step by step in durun events --json', async () => {
  up('ladder', `[group ladder]
command = sleep 1000
check.c.command = false
check.c.interval = 100ms
check.c.threshold = 1
recovery = restart-process, restart-group, restore, failover
recovery.attempts = 1
recovery.window = 1m
`);
  await waitEvent(home.env, 'ladder', 'group failed', (e) => e.type === 'group-failed', 30_000);
  const steps = events(home.env, ['--group', 'ladder', '--type', 'fault,recovery-step,recovery-skipped,group-failed'])
    .map((e) => (e.data?.step ? `${e.type}:${e.data.step}` : e.type));
  assert.equal(steps.slice(0, 8), [
    'fault', 'recovery-step:restart-process',
    'fault', 'recovery-step:restart-group',
    'fault', 'recovery-skipped:restore', 'recovery-skipped:failover', 'group-failed',
  ]);
  const stats = JSON.parse(durunSync(home.env, ['stats', 'ladder', '--json']).stdout) as { groups: Array<{ group: string; lastFault: unknown }> };
  assert.ok(stats.groups[0]?.lastFault, 'durun stats reports the last fault');
  assert.match(durunSync(home.env, ['metrics']).stdout, /durun_group_outages_total\{group="ladder"\} \d+/);
});

/** A db group and an app that depends on it, both checking that flag is absent. */
function dependentPair(db: string, app: string, flag: string, dbCheck: { interval: string; threshold: number }, appCheck: { interval: string; threshold: number }): string {
  const group = (name: string, c: { interval: string; threshold: number }, extra: string[]) => [
    `[group ${name}]`, 'command = sleep 1000', ...extra, `check.c.command = test ! -e ${flag}`,
    `check.c.interval = ${c.interval}`, `check.c.threshold = ${c.threshold}`, 'recovery = restart-process', '',
  ].join('\n');
  return group(db, dbCheck, []).replace('recovery = restart-process\n', 'recovery = restart-process\nrecovery.attempts = 100\n') + '\n' + group(app, appCheck, [`depends = ${db}`]);
}

test('a fault of a dependent while its dependency fails is correlated, not escalated', async () => {
  const down = path.join(dir, 'db.down');
  up('corr', dependentPair('db', 'app', down, { interval: '50ms', threshold: 1 }, { interval: '50ms', threshold: 5 }));
  writeFileSync(down, '');
  await waitEvent(home.env, 'db', 'db recovery', (e) => e.type === 'recovery-step');
  const corr = await waitEvent(home.env, 'app', 'app fault correlated', (e) => e.type === 'correlated');
  assert.match(corr.reason, /dependency db/);
  assert.ok(events(home.env, ['--group', 'app', '--type', 'fault']).length >= 1, 'the fault is recorded');
  assert.is(events(home.env, ['--group', 'app', '--type', 'recovery-step']).length, 0, 'and not escalated');
  rmSync(down);
  assert.is(durunSync(home.env, ['down', 'app', 'db']).code, 0);
});

test('a dependent whose check notices first is still correlated when its dependency faults a moment later', async () => {
  const down = path.join(dir, 'db2.down');
  // app2's check fails at once (threshold 1); db2's only at its second failed run, 100 ms or more later.
  up('corr2', dependentPair('db2', 'app2', down, { interval: '100ms', threshold: 2 }, { interval: '50ms', threshold: 1 }));
  writeFileSync(down, '');
  const appFault = await waitEvent(home.env, 'app2', 'app2 fault', (e) => e.type === 'fault');
  const dbFault = await waitEvent(home.env, 'db2', 'db2 fault', (e) => e.type === 'fault');
  assert.ok(appFault.seq < dbFault.seq, 'the dependent faulted first');
  const corr = await waitEvent(home.env, 'app2', 'app2 fault correlated', (e) => e.type === 'correlated');
  assert.match(corr.reason, /dependency db2/);
  assert.is(events(home.env, ['--group', 'app2', '--type', 'recovery-step']).length, 0, 'not escalated');
  rmSync(down);
  assert.is(durunSync(home.env, ['down', 'app2', 'db2']).code, 0);
});

test('an on_event hook gets the event JSON on stdin; a hook past its timeout is killed', async () => {
  const out = path.join(dir, 'hook.out');
  up('hook', `[group hook]
command = sleep 1000
on_event = cat >> ${out}
`);
  const line = await waitFor('the hook output', () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').find((l) => l.includes('"process-start"')) : undefined));
  const got = JSON.parse(line);
  const journal = events(home.env, ['--group', 'hook']).find((e) => e.seq === got.seq);
  assert.equal(got, journal);
  up('slowhook', `[group slowhook]
command = sleep 1000
on_event = sleep 1000
on_event.timeout = 300ms
`);
  const failed = await waitEvent(home.env, 'slowhook', 'hook failed', (e) => e.type === 'hook-failed');
  assert.match(failed.reason, /timed out after 300 ms and was killed/);
});

test('the journal survives kill -9 of the supervisor', async () => {
  up('kj', `[group kj]
command = sleep 1000
`);
  const before = await waitEvent(home.env, 'kj', 'process start', (e) => e.type === 'process-start');
  const pid = Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  await waitFor('supervisor gone', () => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'));
  const after = events(home.env); // starts a new supervisor
  assert.ok(after.some((e) => e.seq === before.seq && e.type === 'process-start' && e.group === 'kj'), `the event from before kill -9 is still there: #${before.seq} not in ${JSON.stringify(after.slice(-8).map((e) => [e.seq, e.type, e.group]))}`);
  const restart = after.filter((e) => e.type === 'supervisor-start').at(-1)!;
  assert.ok(restart.seq > before.seq, 'numbering continues');
  assert.ok(after.every((e, i) => i === 0 || e.seq === after[i - 1]!.seq + 1), 'no gap and no duplicate');
});

test('the ladder survives kill -9 of the supervisor: a fault that comes back climbs on', async () => {
  const fail = path.join(dir, 'pl.fail');
  up('pl', `[group pl]
command = sleep 1000
check.c.command = sh -c "test ! -e ${fail} || ! rm ${fail}"
check.c.interval = 100ms
check.c.threshold = 1
recovery = restart-process, restart-group
recovery.attempts = 1
recovery.window = 5m
`);
  const steps = () => events(home.env, ['--group', 'pl', '--type', 'recovery-step']).filter((e) => !e.data?.failed).map((e) => e.data?.step);
  // Each time the file is there the check fails once (it removes the file): one fault.
  writeFileSync(fail, '');
  await waitFor('first step taken', () => steps().length >= 1, 15_000);
  assert.equal(steps(), ['restart-process']);
  const pid = Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  await waitFor('supervisor gone', () => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'));
  const ps = durunSync(home.env, ['ps', 'pl']); // the next supervisor, which must know the group at once
  assert.is(ps.code, 0, ps.stderr);
  writeFileSync(fail, '');
  await waitFor('second step taken', () => steps().length >= 2, 15_000);
  assert.equal(steps().slice(0, 2), ['restart-process', 'restart-group'], 'the step that did not hold is not taken again');
});

test.run();
