// Issue 13: one duration grammar for every key and flag. The same table of
// spellings goes through the supervisor's parser (the `ms` package) and the C
// runner's own (`durun --backoff X`, read back from `ps --json`), and policy
// keys, --window and DURUN_RETENTION take the same spellings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempHome, removeTree } from './helpers/home.js';
import { durunSync, group, policyUp, shutdownAll } from './helpers/durun.js';
import { parseDuration, parseFlagDuration } from '../supervisor/src/protocol/duration.js';

const home = tempHome('durun-odur-');
const policyDir = mkdtempSync(path.join(os.tmpdir(), 'durun-odur-pol-'));
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
  removeTree(policyDir);
});

/** Spelling → milliseconds as a flag (a bare number is ms), or null when refused. */
const TABLE: Array<[string, number | null]> = [
  ['500ms', 500], ['1.5s', 1500], ['2s', 2000], ['90s', 90_000], ['2m', 120_000], ['1.5h', 5_400_000], ['1d', 86_400_000],
  ['1w', 604_800_000], ['.5s', 500], ['2 days', 172_800_000], ['10 MS', 10], ['1.0005s', 1001], ['250', 250], ['0', 0],
  ['-1s', null], ['5.s', null], ['soon', null], ['1x', null], ['', null], ['1 s s', null], ['+5', null],
];

test('the supervisor\'s grammar: the table as flags; policy spellings need their unit', () => {
  for (const [text, ms] of TABLE) assert.is(parseFlagDuration(text), ms, text);
  assert.is(parseDuration('250'), null, 'a bare number needs its unit outside flags');
  assert.is(parseDuration('1.5s'), 1500);
});

test('the C runner parses --backoff with the same grammar (read back from ps --json)', () => {
  TABLE.forEach(([text, ms], i) => {
    const r = durunSync(home.env, ['--group', `d${i}`, '--restart', 'never', '--backoff', text, '--', 'true']);
    if (ms === null) {
      assert.is(r.code, 2, `--backoff "${text}" refused as usage`);
      assert.match(r.stderr, `--backoff takes a duration, not "${text}"; write a number and a unit`);
      return;
    }
    assert.is(r.code, 0, `--backoff "${text}": ${r.stderr}`);
    assert.is(group(home.env, `d${i}`)?.programs[0]?.options.backoffMs, ms, `--backoff "${text}"`);
  });
  const w = durunSync(home.env, ['--group', 'win', '--restart', 'never', '--restart-window', '1d', '--backoff-max', '1.5m', '--', 'true']);
  assert.is(w.code, 0, w.stderr);
  assert.equal(group(home.env, 'win')?.programs[0]?.options, { backoffMs: 100, backoffMaxMs: 90_000, maxRestarts: 5, restartWindowMs: 86_400_000 });
});

test('policy keys take the same spellings (stop_timeout = 1.5s, restart_window = 1d), and a bare number is refused with the hint', () => {
  policyUp(home.env, policyDir, 'p', '[group pol]\ncommand = sleep 600\nstop_timeout = 1.5s\nbackoff = 1.5s\nrestart_window = 1d\ncheck.ok.command = true\ncheck.ok.timeout = 1.5s\ncheck.ok.interval = 1d\n');
  assert.equal(group(home.env, 'pol')?.programs[0]?.options, { backoffMs: 1500, backoffMaxMs: 30_000, maxRestarts: 5, restartWindowMs: 86_400_000 });
  const bad = path.join(policyDir, 'bad.ini');
  writeFileSync(bad, '[group bare]\ncommand = sleep 600\nstop_timeout = 10\n');
  const r = durunSync(home.env, ['up', '-f', bad]);
  assert.is(r.code, 1);
  assert.match(r.stderr, `${bad}:3: stop_timeout: "10" is not a duration; write a number and a unit, e.g. 500ms, 1.5s, 2m, 1h or 1d`);
});

test('--window and --since take durations too (DURUN_RETENTION: test/ops-rm)', () => {
  for (const w of ['1.5h', '1d', '90000']) assert.is(durunSync(home.env, ['stats', '--window', w]).code, 0, w);
  const bad = durunSync(home.env, ['stats', '--window', 'soon']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, '--window takes a duration, not "soon"; write a number and a unit');
  assert.is(durunSync(home.env, ['events', '--since', '1.5d']).code, 0);
});

test.run();
