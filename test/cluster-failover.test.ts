// Checkpoint replication and node failure (issue 10): every committed
// checkpoint of a group (incrementals included) streams to its backup; when
// the primary node dies (its supervisor and programs SIGKILLed) its lease
// ends, and the backup restores the group from its latest replicated
// checkpoint: the program goes on counting from there, its state intact.
// With failback = yes, the repaired primary gets it back with its state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clusterSkipReason, startCluster, type Cluster, type Node } from './helpers/cluster.js';
import { durunSync, group } from './helpers/durun.js';
import { compile, lastTick, logMark, ticks, waitTick } from './helpers/checkpoint.js';
import { removeTree } from './helpers/home.js';
import { waitFor } from './helpers/wait.js';

const skip = clusterSkipReason();
let cluster: Cluster;
let bin = '';
let b: Node;

test.after(async () => {
  await cluster?.cleanup();
  if (bin) removeTree(bin);
});

function checkpoint(n: Node, name: string): { id: string; kinds?: string[] } {
  const r = durunSync(n.env, ['checkpoint', name, '--json']);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { id: string };
}

const replicaOn = (n: Node, name: string, target: string) => n.status().groups.find((g) => g.group === name)?.replicas[target]?.id;

test('checkpoints replicate to the backup; when the primary dies the backup restores the group from the latest one', async () => {
  if (skip) return void console.log(`skipped: ${skip}`);
  bin = mkdtempSync(path.join(os.tmpdir(), 'durun-clbin-'));
  const counter = compile('counter.c', 'counter', bin);
  cluster = await startCluster('durun-cl2-', 19403);
  const a = await cluster.start('a', 19420);
  b = await cluster.start('b', 19421);
  const policy = path.join(cluster.base, 'count.ini');
  // The counter's file is in the node's own data directory (one path on every node): it rolls back with the checkpoint.
  writeFileSync(policy, `[group count]\ncommand = ${counter} ${path.join(cluster.data, 'count.out')} 50\nnodes = a, b\nfailback = yes\nautostart = yes\n`);
  const up = durunSync(a.env, ['up', '-f', policy]);
  assert.is(up.code, 0, up.stderr);
  await waitTick(a.dir, 'count', 5);
  assert.not.ok(group(b.env, 'count')?.state === 'running', 'the backup runs the group too');

  const first = checkpoint(a, 'count');
  await waitFor('the full checkpoint on b', () => replicaOn(a, 'count', 'b') === first.id, 15_000);
  await waitTick(a.dir, 'count', lastTick(a.dir, 'count') + 5);
  const second = checkpoint(a, 'count');
  await waitFor('the incremental checkpoint on b', () => replicaOn(a, 'count', 'b') === second.id, 15_000);
  const held = JSON.parse(durunSync(b.env, ['checkpoints', 'count', '--json']).stdout) as { checkpoints: Array<{ id: string; parent: string | null }> };
  assert.equal(held.checkpoints.map((c) => c.id), [first.id, second.id], 'b holds the chain');
  assert.is(held.checkpoints[1]!.parent, first.id, 'the second is incremental on the first');
  const atCheckpoint = lastTick(a.dir, 'count');
  await waitTick(a.dir, 'count', atCheckpoint + 10);

  await a.kill9();
  const killedAt = Date.now();
  await waitFor('count running on b', () => group(b.env, 'count')?.state === 'running', 20_000, 100);
  // The restored counter goes on from the second checkpoint (not from 1, and not from where a got to after it).
  await waitTick(b.dir, 'count', atCheckpoint + 3, undefined, undefined, 15_000);
  const onB = ticks(b.dir, 'count');
  assert.equal(onB.fails, [], 'the restored counter found its state intact');
  const firstOnB = onB.ticks[0]!.n;
  assert.ok(firstOnB > 5 && firstOnB <= atCheckpoint + 1, `first tick on b ${firstOnB}, checkpoint taken at about tick ${atCheckpoint}`);
  const s = b.status();
  assert.is(s.groups.find((g) => g.group === 'count')?.owner, 'b');
  assert.equal(s.nodes.map((n) => n.node), ['b']);
  const ev = JSON.parse(durunSync(b.env, ['events', '--json', '--group', 'count', '--type', 'recovery-step']).stdout) as { events: Array<{ reason: string; data?: { step?: string; from?: string } }> };
  assert.ok(ev.events.some((e) => e.data?.step === 'failover' && e.data.from === 'a' && e.reason.includes(second.id)), JSON.stringify(ev.events));
  console.log(`  node death to the group running on b: ${Date.now() - killedAt} ms (lease 2 s)`);
});

test('a backup that was away catches up with the whole chain as it joins', async () => {
  if (skip) return;
  // b runs count now (a is dead); c, a new backup, joins after b took three checkpoints (a full one and incrementals).
  writeFileSync(path.join(cluster.base, 'count.ini'), readFileSync(path.join(cluster.base, 'count.ini'), 'utf8').replace('nodes = a, b', 'nodes = a, b, c'));
  // a, whose file watch published the policy, is dead: b reads the file and shares it.
  assert.is(durunSync(b.env, ['up', '-f', path.join(cluster.base, 'count.ini')]).code, 0);
  await waitFor('b to take the new nodes =', () => b.status().groups.find((g) => g.group === 'count')?.nodes.includes('c'), 15_000);
  const ids = [0, 1, 2].map(() => checkpoint(b, 'count').id);
  const c = await cluster.start('c', 19422);
  await waitFor('c to hold the newest checkpoint', () => replicaOn(b, 'count', 'c') === ids[2], 20_000, 100);
  const held = JSON.parse(durunSync(c.env, ['checkpoints', 'count', '--json']).stdout) as { checkpoints: Array<{ id: string; parent: string | null }> };
  const chain = JSON.parse(durunSync(b.env, ['checkpoints', 'count', '--json']).stdout) as { checkpoints: Array<{ id: string; parent: string | null }> };
  // c holds the chain the newest checkpoint needs, from its full image: what b would restore from.
  const need: string[] = [];
  for (let id: string | null = ids[2]!; id; id = chain.checkpoints.find((x) => x.id === id)?.parent ?? null) need.unshift(id);
  assert.equal(held.checkpoints.map((x) => x.id), need);
  assert.is(held.checkpoints[0]!.parent, null, 'the chain starts with a full image');
  assert.not.ok(group(c.env, 'count')?.state === 'running', 'a backup runs the group');
});

test('failback: the repaired primary gets its group back with the state it had on the backup', async () => {
  if (skip) return;
  await waitTick(b.dir, 'count', lastTick(b.dir, 'count') + 5);
  const onA = logMark(path.join(cluster.base, 'a'), 'count');
  const a = await cluster.start('a', 19420);
  await waitFor('count back on a', () => group(a.env, 'count')?.state === 'running' && a.status().groups[0]?.owner === 'a', 30_000, 100);
  await waitFor('count gone from b', () => group(b.env, 'count')?.state !== 'running', 10_000);
  const lastOnB = lastTick(b.dir, 'count');
  await waitTick(a.dir, 'count', lastOnB + 3, undefined, onA);
  const back = ticks(a.dir, 'count', onA);
  assert.equal(back.fails, [], 'the counter came home with its state intact');
  assert.ok(back.ticks[0]!.n > 5 && back.ticks[0]!.n <= lastOnB + 1, `first tick back on a ${back.ticks[0]!.n}, last on b ${lastOnB}`);
  const ev = JSON.parse(durunSync(b.env, ['events', '--json', '--group', 'count', '--type', 'recovery-step']).stdout) as { events: Array<{ data?: { step?: string; to?: string } }> };
  assert.ok(ev.events.some((e) => e.data?.step === 'failback' && e.data.to === 'a'));
});

test.run();
