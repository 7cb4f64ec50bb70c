// Issue 3 with policy groups: checkpoint.interval takes checkpoints by
// itself (events carry their cost for `durun advise`), checkpoint.keep
// prunes without breaking a chain, and the recovery ladder's `restore` step
// brings a faulty group back from its latest checkpoint.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { policyUp } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';
import { events, waitEvent } from './helpers/events.js';
import { checkpoint, compile, durunOk, lastTick, logMark, runningPids, ticks, waitTick, rootWorkspace } from './helpers/checkpoint.js';

const { home, as, bin: dir, cleanup } = rootWorkspace('durun-ckp');
test.after(cleanup);
const COUNTER = compile('counter.c', 'counter', dir);

const up = (name: string, text: string) => policyUp(home.env, dir, name, text);

interface Listed { checkpoints: Array<{ id: string; parent: string | null; kinds: string[] }> }

test('checkpoint.interval and checkpoint.keep', async () => {
  up('tick', `[group tick]
command = ${COUNTER} ${path.join(dir, 'tick.dat')} 20
checkpoint.interval = 300ms
checkpoint.keep = 2
`);
  await waitFor('6 periodic checkpoints', () => events(home.env, ['--group', 'tick', '--type', 'checkpoint']).filter((e) => typeof e.data?.durationMs === 'number').length >= 6, 20_000, 100);
  const list = JSON.parse(durunOk(as, ['checkpoints', 'tick', '--json'])) as Listed;
  assert.ok(list.checkpoints.length <= 4, `pruned to keep 2 (and the chain they need): ${list.checkpoints.length} left`);
  const ids = new Set(list.checkpoints.map((c) => c.id));
  for (const c of list.checkpoints) if (c.parent) assert.ok(ids.has(c.parent), `${c.id} chains onto ${c.parent}, which was pruned`);
  const e = events(home.env, ['--group', 'tick', '--type', 'checkpoint']).find((x) => typeof x.data?.durationMs === 'number')!;
  assert.ok(typeof e.data?.bytes === 'number' && typeof e.data?.stallMs === 'number');
  durunOk(as, ['down', 'tick']);
});

test('recovery = restore: an unhealthy group comes back from its latest checkpoint', async () => {
  const bad = path.join(dir, 'bad');
  up('heal', `[group heal]
command = ${COUNTER} ${path.join(dir, 'heal.dat')} 20
check.flag.command = test ! -e ${bad}
check.flag.interval = 100ms
check.flag.threshold = 1
recovery = restore
`);
  const pid = await waitFor('heal running', () => runningPids(as, 'heal')[0], 10_000);
  await waitTick(home.dir, 'heal', 5, pid);
  checkpoint(as, 'heal');
  const after = lastTick(home.dir, 'heal', pid);
  await waitTick(home.dir, 'heal', after + 15, pid);
  const mark = logMark(home.dir, 'heal');
  writeFileSync(bad, '');
  const step = await waitEvent(home.env, 'heal', 'restore step', (e) => e.type === 'recovery-step' && e.data?.step === 'restore');
  unlinkSync(bad);
  assert.match(step.reason, /restore/);
  // The old instance wrote on after the mark until the restore stopped it; the restored one goes back to the checkpoint.
  const first = await waitFor('restored ticks', () => ticks(home.dir, 'heal', mark).ticks.find((t) => t.pid === pid && t.n <= after + 1), 20_000);
  assert.ok(first.n <= after + 1, `resumed at ${first.n}, the checkpoint was at <= ${after}`);
  await waitEvent(home.env, 'heal', 'restored', (e) => e.type === 'recovery-step' && /restored from checkpoint/.test(e.reason));
});

test.run();
