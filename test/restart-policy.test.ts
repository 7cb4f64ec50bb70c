// The restart decision as a pure function: every policy against every kind of end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_RESTART_OPTIONS, STABLE_RUN_MS, backoffDelay, decide } from '../supervisor/src/restart-policy.js';
import type { ProgramRecord } from '../supervisor/src/model/types.js';
import type { RestartPolicy } from '../supervisor/src/protocol/messages.js';

function program(restart: RestartPolicy, over: Partial<ProgramRecord> = {}): ProgramRecord {
  return {
    id: 1, argv: ['x'], cwd: '/', restart, options: { ...DEFAULT_RESTART_OPTIONS }, detached: false, tty: false,
    runnerPid: 1, runnerStartTime: 1, instance: 1, rootPid: 2, phase: 'running', state: 'running', instanceStartedAt: 1_000_000,
    restarts: 0, restartTimes: [], consecutiveRestarts: 0,
    lastExit: null, logPath: '/dev/null', ...over,
  };
}
const at = 1_000_500;
const exit = (status: number) => ({ status, signal: null, at });
const killed = (signal: number) => ({ status: null, signal, at });

test('on-crash: restarts crashes only', () => {
  assert.equal(decide(program('on-crash'), killed(9), true), { action: 'restart', delayMs: 0 });
  assert.equal(decide(program('on-crash'), exit(0), false), { action: 'finish', code: 0, failed: null });
  assert.equal(decide(program('on-crash'), exit(2), false), { action: 'finish', code: 2, failed: null });
  assert.is(decide(program('on-crash'), exit(0), true).action, 'restart', 'a crashed member restarts the instance');
});

test('on-failure, always, never; a root ended by SIGTERM or SIGPIPE is a clean end', () => {
  assert.is(decide(program('on-failure'), exit(2), false).action, 'restart');
  assert.is(decide(program('on-failure'), exit(0), false).action, 'finish');
  assert.is(decide(program('on-failure'), killed(15), false).action, 'finish', 'a clean signal end is not a failure');
  assert.is(decide(program('on-crash'), killed(13), false).action, 'finish', 'SIGPIPE under on-crash');
  assert.is(decide(program('always'), exit(0), false).action, 'restart');
  assert.is(decide(program('always'), killed(13), false).action, 'restart');
  assert.equal(decide(program('never'), killed(11), true), { action: 'finish', code: 139, failed: null });
});

test('rate limit: the restart after maxRestarts within the window fails the group', () => {
  const times = [at - 4000, at - 3000, at - 2000, at - 1000, at - 500];
  const d = decide(program('on-crash', { restartTimes: times, consecutiveRestarts: 5 }), killed(9), true);
  assert.is(d.action, 'finish');
  assert.match((d as { failed: string }).failed, /6 ends within 60 s \(limit 5 restarts\); last killed by signal 9/);
  const old = times.map((t) => t - DEFAULT_RESTART_OPTIONS.restartWindowMs);
  assert.is(decide(program('on-crash', { restartTimes: old }), killed(9), true).action, 'restart', 'restarts outside the window do not count');
});

test('backoff doubles to the cap and resets after a stable run', () => {
  const opts = { ...DEFAULT_RESTART_OPTIONS, backoffMs: 100, backoffMaxMs: 1000 };
  assert.equal([0, 1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, opts)), [0, 100, 200, 400, 800, 1000, 1000]);
  const flapping = program('on-crash', { options: opts, consecutiveRestarts: 3, instanceStartedAt: at - 50 });
  assert.equal(decide(flapping, killed(9), true), { action: 'restart', delayMs: 400 });
  const stable = program('on-crash', { options: opts, consecutiveRestarts: 3, instanceStartedAt: at - STABLE_RUN_MS });
  assert.equal(decide(stable, killed(9), true), { action: 'restart', delayMs: 0 });
  const outlived = program('on-crash', { options: opts, consecutiveRestarts: 3, instanceStartedAt: at - opts.backoffMaxMs });
  assert.equal(decide(outlived, killed(9), true), { action: 'restart', delayMs: 0 }, 'ran as long as the longest backoff: stable');
});

test.run();
