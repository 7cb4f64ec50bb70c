// Issue 13: `durun metrics` follows the Prometheus conventions (promtool
// check metrics passes), has durun_up and a restarts counter, and counts CPU
// per program monotonically even when the process that used it has ended.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { durunSync, shutdownAll, waitGroup } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';

const home = tempHome('durun-omet-');
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
});

function metrics(args: string[] = []): string {
  const r = durunSync(home.env, ['metrics', ...args]);
  assert.is(r.code, 0, r.stderr);
  return r.stdout;
}

/** The value of one sample: name and labels exactly as printed. */
function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

function promtool(text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is needed (Debian: apt-get install prometheus): ${r.error.message}`);
  assert.is(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}\n${text}`);
  assert.is((r.stdout + r.stderr).trim(), '', 'no lint remarks');
}

test('durun_up and the restarts counter follow a crash and its restart; promtool is content', async () => {
  const flag = path.join(home.dir, 'crashed-once');
  assert.is(durunSync(home.env, ['--detach', '--group', 'web', '--', 'sh', '-c', `if [ -e ${flag} ]; then exec sleep 600; fi; touch ${flag}; kill -SEGV $$`]).code, 0);
  await waitGroup(home.env, 'web', 'restarted once and running', (g) => g.restarts === 1 && g.state === 'running');
  const text = await waitFor('durun_up of web at 1', () => {
    const t = metrics();
    return sample(t, 'durun_up{group="web"}') === 1 ? t : undefined;
  });
  promtool(text);
  assert.is(sample(text, 'durun_group_restarts_total{group="web"}'), 1);
  assert.ok(sample(text, 'durun_group_outages_total{group="web"}')! >= 1, 'the crash was an outage');
  assert.ok(sample(text, 'durun_program_resident_memory_bytes{group="web",program="1"}')! > 0, 'memory of the live sleep');
  assert.ok(sample(text, 'process_resident_memory_bytes')! > 0);
  // A window only narrows the ratio gauges: the counters stay what they are.
  const narrow = metrics(['--window', '1ms']);
  promtool(narrow);
  assert.is(sample(narrow, 'durun_group_restarts_total{group="web"}'), 1);
  assert.is(sample(narrow, 'durun_group_outages_total{group="web"}'), sample(text, 'durun_group_outages_total{group="web"}'));
  assert.is(durunSync(home.env, ['stop', 'web']).code, 0);
  assert.is(sample(metrics(), 'durun_up{group="web"}'), 0, 'a stopped group is not up');
});

test('program CPU is a counter: what an ended process used stays counted', async () => {
  const stop = path.join(home.dir, 'stop-spinning');
  assert.is(durunSync(home.env, ['--detach', '--group', 'spin', '--', 'sh', '-c', `(while [ ! -e ${stop} ]; do :; done); exec sleep 600`]).code, 0);
  const series = 'durun_program_cpu_seconds_total{group="spin",program="1"}';
  const busy = await waitFor('the spinning child used 0.3 s of CPU', () => {
    const v = sample(metrics(), series);
    return v !== null && v >= 0.3 ? v : undefined;
  }, 20_000, 100);
  writeFileSync(stop, '');
  await waitFor('the spinning child ended', () => sample(metrics(), 'durun_program_processes{group="spin",program="1"}') === 1, 10_000, 100);
  const after = sample(metrics(), series)!;
  assert.ok(after >= busy, `CPU counter went down from ${busy} to ${after}`);
});

test.run();
