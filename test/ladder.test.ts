// Issue 5: the escalation ladder and the error correlator, pure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TABLE, escalate, newLadder, type Availability } from '../supervisor/src/recovery/ladder.js';
import { correlate } from '../supervisor/src/recovery/correlator.js';
import type { RecoveryConfig } from '../supervisor/src/health/config.js';

const cfg: RecoveryConfig = { steps: ['restart-process', 'restart-group', 'restore', 'failover'], attempts: 2, windowMs: 60_000 };
const avail: Availability = (s) => (s === 'restore' || s === 'failover' ? `${s} is not available yet` : null);

test('repeats a step while attempts last, then climbs, skips unavailable steps, then fails', () => {
  let l = newLadder();
  const taken: string[] = [];
  for (let i = 0; i < 4; i++) {
    const e = escalate(l, cfg, 1000 + i, avail);
    taken.push(`${e.take!.step}#${e.take!.attempt}`);
    assert.equal(e.skipped, []);
    l = { ...e.ladder, state: 'watching' };
  }
  assert.equal(taken, ['restart-process#1', 'restart-process#2', 'restart-group#1', 'restart-group#2']);
  const last = escalate(l, cfg, 2000, avail);
  assert.is(last.take, null);
  assert.equal(last.skipped.map((s) => s.step), ['restore', 'failover']);
  assert.is(last.ladder.state, 'failed');
});

test('attempts outside the window do not count', () => {
  const l = { ...newLadder(), state: 'watching' as const, step: 0, attempts: [0, 1000] };
  const e = escalate(l, cfg, cfg.windowMs, avail); // the attempt at 0 has aged out, the one at 1000 not
  assert.equal(e.take, { step: 'restart-process', attempt: 2 });
});

test('minStep climbs past a step known to have failed', () => {
  const e = escalate(newLadder(), cfg, 0, avail, 1);
  assert.equal(e.take, { step: 'restart-group', attempt: 1 });
});

test('the table: faults escalate only when idle or watching; secondary faults never do', () => {
  for (const state of Object.keys(TABLE) as Array<keyof typeof TABLE>) assert.is(TABLE[state].secondary, 'correlate');
  assert.is(TABLE.idle.fault, 'escalate');
  assert.is(TABLE.watching.fault, 'escalate');
  assert.is(TABLE.acting.fault, 'correlate');
  assert.is(TABLE.watching.held, 'recover');
});

test('correlator: stale, in progress, dependency', () => {
  const calm = { ladder: newLadder(), running: true, lastFaultAt: null };
  assert.equal(correlate({ group: 'app', observedAt: 10 }, calm, new Map(), 60_000, 10), { primary: true });
  const acted = { ...calm, ladder: { ...newLadder(), state: 'watching' as const, lastActionAt: 50 } };
  assert.match((correlate({ group: 'app', observedAt: 40 }, acted, new Map(), 60_000, 60) as { reason: string }).reason, /^stale/);
  const acting = { ...calm, ladder: { ...newLadder(), state: 'acting' as const } };
  assert.match((correlate({ group: 'app', observedAt: 40 }, acting, new Map(), 60_000, 60) as { reason: string }).reason, /in progress/);
  const db = { ladder: { ...newLadder(), state: 'acting' as const }, running: false, lastFaultAt: 30 };
  assert.is((correlate({ group: 'app', observedAt: 40 }, calm, new Map([['db', db]]), 60_000, 60) as { reason: string }).reason, 'secondary: dependency db is recovering');
  const dbRecent = { ladder: newLadder(), running: true, lastFaultAt: 30 };
  assert.match((correlate({ group: 'app', observedAt: 40 }, calm, new Map([['db', dbRecent]]), 60_000, 60) as { reason: string }).reason, /dependency db faulted/);
  assert.equal(correlate({ group: 'app', observedAt: 40 }, calm, new Map([['db', dbRecent]]), 10, 60), { primary: true });
});

test.run();
