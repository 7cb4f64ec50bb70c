// The Node CLI writes long answers through a pipe in full: it exits only
// after stdout has drained (a bare process.exit cut `durun events --json`
// short at about 2,000 lines), and `durun ps` cuts lines only to fit a
// terminal (a fixed 60-column cut hid the arguments that tell programs apart).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { durunSync, shutdownAll, waitGroup } from './helpers/durun.js';

const home = tempHome();
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
});

test('durun events --json prints every event of a long journal', () => {
  const lines = Array.from({ length: 5000 }, (_, i) =>
    JSON.stringify({ seq: i + 1, time: '2026-11-25T12:00:00.000Z', type: 'state', group: 'g', pid: null, reason: 'x'.repeat(100) }));
  const journal = path.join(home.dir, 'events.jsonl');
  writeFileSync(journal, lines.join('\n') + '\n');
  chmodSync(journal, 0o600);
  const res = durunSync(home.env, ['events', '--json', '--group', 'g']);
  assert.is(res.code, 0, res.stderr);
  const got = (JSON.parse(res.stdout) as { events: Array<{ seq: number }> }).events;
  assert.is(got.length, 5000);
  assert.is(got[4999]!.seq, 5000);
});

test('durun ps through a pipe shows whole command lines, in the tree and in the history', async () => {
  const marker = `arg-${'m'.repeat(120)}-end`;
  const run = durunSync(home.env, ['run', '--detach', '--group', 'long', '--', 'sh', '-c', 'sleep 600; true', marker]);
  assert.is(run.code, 0, run.stderr);
  await waitGroup(home.env, 'long', 'running with its process', (g) => g.processes.some((p) => p.argv.includes(marker)));
  const ps = durunSync(home.env, ['ps', 'long', '--history']);
  assert.is(ps.code, 0, ps.stderr);
  const whole = ps.stdout.split('\n').filter((l) => l.endsWith(`sh -c sleep 600; true ${marker}`));
  assert.ok(whole.some((l) => l.includes(' running ')), `a tree line ends with the whole command:\n${ps.stdout}`);
  assert.ok(whole.some((l) => l.includes(' program 1/1 ')), `a history line ends with the whole command:\n${ps.stdout}`);
});

test.run();
