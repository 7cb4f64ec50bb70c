// A partition (issue 10): the primary loses etcd (its link is cut, its
// processes live on). It demotes itself on its own clock and kills its group
// before its lease can expire at etcd; only then does the backup take the
// group over. So the group never runs on both nodes. When the link comes
// back the old primary rejoins as the backup and starts nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clusterSkipReason, startCluster, type Cluster } from './helpers/cluster.js';
import { durunSync, group } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';

const skip = clusterSkipReason();
const NS = 'durun-cl3-a';
const HOST_IF = 'dcl3h';
const NS_IF = 'dcl3a';
const HOST_IP = '10.213.7.1';
const NS_IP = '10.213.7.2';
let cluster: Cluster;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

test.after(async () => {
  await cluster?.cleanup();
  if (!skip) ip('netns', 'del', NS);
});

interface Ev { time: string; type: string; group: string | null; data?: Record<string, unknown> }
const events = (dir: string) => readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Ev);

test('a partitioned primary fences its group before the backup takes it; healed, it rejoins as the backup', async () => {
  if (skip) return void console.log(`skipped: ${skip}`);
  // Node a in a network namespace of its own, reaching etcd over a veth pair the test can cut.
  ip('netns', 'add', NS);
  ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF, 'netns', NS);
  ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
  ip('link', 'set', HOST_IF, 'up');
  ip('-n', NS, 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF);
  ip('-n', NS, 'link', 'set', NS_IF, 'up');
  ip('-n', NS, 'link', 'set', 'lo', 'up');
  cluster = await startCluster('durun-cl3-', 19405, [HOST_IP]);
  const a = await cluster.start('a', 19430, { netns: NS, endpoint: `http://${HOST_IP}:19405` });
  const b = await cluster.start('b', 19431);
  const policy = path.join(cluster.base, 'svc.ini');
  writeFileSync(policy, '[group svc]\ncommand = sleep 1000\nnodes = a, b\nautostart = yes\n');
  assert.is(durunSync(a.env, ['up', '-f', policy]).code, 0);
  await waitFor('svc on a', () => group(a.env, 'svc')?.state === 'running', 15_000);
  await waitFor('b to know the policy', () => b.status().groups.some((g) => g.group === 'svc' && g.owner === 'a'), 15_000);

  ip('link', 'set', HOST_IF, 'down');
  await waitFor('svc running on b', () => group(b.env, 'svc')?.state === 'running', 20_000, 100);
  const fencedOnA = events(a.dir).find((e) => e.group === 'svc' && e.type === 'process-end');
  const startedOnB = events(b.dir).find((e) => e.group === 'svc' && e.type === 'process-start');
  assert.ok(fencedOnA, 'a ended svc');
  assert.ok(startedOnB, 'b started svc');
  const gap = Date.parse(startedOnB!.time) - Date.parse(fencedOnA!.time);
  assert.ok(gap > 0, `b started svc ${-gap} ms before a had killed it`);
  assert.match(readFileSync(path.join(a.dir, 'supervisor.log'), 'utf8'), /cluster: demoted: no heartbeat answered/);
  const failover = events(b.dir).find((e) => e.type === 'recovery-step' && e.data?.step === 'failover');
  assert.match(String((failover as unknown as { reason: string }).reason), /started afresh/);
  console.log(`  a killed svc ${gap} ms before b started it`);

  ip('link', 'set', HOST_IF, 'up');
  await waitFor('a back as the backup', () => {
    const g = b.status().groups.find((x) => x.group === 'svc');
    return g?.owner === 'b' && g.roles.a === 'secondary';
  }, 20_000, 200);
  assert.not.ok(group(a.env, 'svc')?.state === 'running', 'the healed node started svc again');
});

test.run();
