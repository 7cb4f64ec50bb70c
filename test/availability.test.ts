// Issue 5: availability statistics from a scripted journal with known durations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeTree } from './helpers/home.js';
import { availability } from '../supervisor/src/stats/availability.js';
import { toPrometheus } from '../supervisor/src/stats/prometheus.js';
import { readJournal } from '../supervisor/src/events/journal.js';
import type { DurunEvent } from '../supervisor/src/protocol/events.js';

const T0 = Date.parse('2024-05-01T00:00:00.000Z');
const S = 1000;
let seq = 0;
const ev = (atS: number, type: DurunEvent['type'], data: Record<string, unknown>, reason = ''): DurunEvent =>
  ({ seq: ++seq, time: new Date(T0 + atS * S).toISOString(), type, group: 'web', pid: null, reason, data });

// Up 0-100 s; crash outage 100-110 (restarting); up 110-300; failing check 300-330 (running but unhealthy);
// up 330-600; stopped by the operator 600-700 (planned); up 700-1000.
const script: DurunEvent[] = [
  ev(0, 'state', { from: null, to: 'running' }),
  ev(100, 'fault', { kind: 'crash' }, 'killed by SIGSEGV'),
  ev(100, 'state', { from: 'running', to: 'restarting' }),
  ev(110, 'state', { from: 'restarting', to: 'running' }),
  ev(300, 'health', { check: 'http', healthy: false }),
  ev(300, 'fault', { kind: 'hang' }, 'check http timed out'),
  ev(330, 'health', { check: 'http', healthy: true }),
  ev(600, 'state', { from: 'running', to: 'stopped' }),
  ev(700, 'state', { from: 'stopped', to: 'running' }),
];

test('MTBF, MTTR, uptime and time per state over a written journal', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durun-stats-'));
  try {
    const file = path.join(dir, 'events.jsonl');
    writeFileSync(file, script.map((e) => JSON.stringify(e)).join('\n') + '\n{"torn":');
    const r = availability(readJournal(file), T0, T0 + 1000 * S);
    const web = r.groups[0]!;
    assert.is(web.outages, 2);
    assert.is(web.upMs, (100 + 190 + 270 + 300) * S);
    assert.is(web.downMs, 40 * S);
    assert.is(web.mtbfMs, 430 * S); // 860 s up / 2 outages
    assert.is(web.mttrMs, 20 * S); // (10 + 30) / 2
    assert.is(web.uptimePercent, Math.round((860 / 900) * 1e6) / 1e4);
    assert.equal(web.timeInState, { running: 860 * S, restarting: 10 * S, unhealthy: 30 * S, stopped: 100 * S });
    assert.equal(web.lastFault, { time: new Date(T0 + 300 * S).toISOString(), kind: 'hang', reason: 'check http timed out' });
  } finally {
    removeTree(dir);
  }
});

test('a window cuts outages at its edges', () => {
  const r = availability(script, T0 + 105 * S, T0 + 320 * S);
  const web = r.groups[0]!;
  assert.is(web.outages, 1); // the crash outage began before the window; the check outage inside
  assert.is(web.downMs, (5 + 20) * S);
  assert.is(web.mttrMs, 5 * S); // only the crash outage ended inside the window
  assert.is(web.mtbfMs, 190 * S);
});

const metricsOf = (windowFrom: number) => {
  const all = availability(script, T0, T0 + 1000 * S);
  return toPrometheus({
    all, window: availability(script, windowFrom, T0 + 1000 * S), groups: [{ name: 'web', state: 'running' }], restarts: new Map([['web', 3]]),
    programs: [{ group: 'web', program: 1, cpuSeconds: 1.5, rssBytes: 4096, processes: 1 }], supervisor: { cpuSeconds: 0.25, rssBytes: 1 << 20, startTimeSeconds: 1 },
  });
};

test('prometheus text', () => {
  const text = metricsOf(T0);
  assert.ok(text.includes('# TYPE durun_group_mtbf_seconds gauge\ndurun_group_mtbf_seconds{group="web"} 430\n'), text);
  assert.ok(text.includes('durun_group_mttr_seconds{group="web"} 20\n'));
  assert.ok(text.includes('durun_group_outages_total{group="web"} 2\n'));
  assert.ok(text.includes('durun_group_state_seconds_total{group="web",state="unhealthy"} 30\n'));
  assert.ok(text.includes('durun_group_restarts_total{group="web"} 3\n'));
  assert.ok(text.includes('durun_program_cpu_seconds_total{group="web",program="1"} 1.5\n'));
});

test('a window changes the ratio gauges, never a counter (a counter that went down would read as a reset)', () => {
  const whole = metricsOf(T0);
  const late = metricsOf(T0 + 900 * S);
  const sample = (text: string, name: string) => text.split('\n').find((l) => l.startsWith(`${name}{group="web"}`));
  assert.is(sample(late, 'durun_group_outages_total'), sample(whole, 'durun_group_outages_total'));
  assert.is(sample(late, 'durun_group_outages_total'), 'durun_group_outages_total{group="web"} 2');
  assert.is.not(sample(late, 'durun_group_uptime_ratio'), sample(whole, 'durun_group_uptime_ratio'));
});

test.run();
