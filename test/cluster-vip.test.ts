// A group's virtual IP (issue 10), between nodes that are network namespaces
// on one bridge (in a namespace of the test's own, with etcd) and a client in
// a third: the primary holds the address and serves through it; when the
// primary dies the backup takes the group, but not the address while another
// host still answers ARP for it (duplicate address detection); once that
// host is gone the backup adds it, announces it, and the client reaches the
// group on the backup through the same address.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { clusterSkipReason, makeLan, startCluster, type Cluster, type Lan } from './helpers/cluster.js';
import { durunSync, group } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';

const skip = clusterSkipReason() ?? (spawnSync('sh', ['-c', 'command -v arping']).status !== 0 ? 'arping is not installed (Debian: iputils-arping)' : null);
const HOSTS = { a: '10.213.9.2', b: '10.213.9.3', c: '10.213.9.4' } as const;
const VIP = '10.213.9.100';
let cluster: Cluster;
let lan: Lan | null = null;
const ns = (h: string) => lan!.ns(h);
const holds = (h: string) => lan!.holds(h, VIP);


test.after(async () => {
  await cluster?.cleanup();
  lan?.remove();
});

/** What the client in namespace c gets for GET /who through the virtual IP, or null. */
function who(): string | null {
  const r = spawnSync('ip', ['netns', 'exec', ns('c'), 'python3', '-c', `import urllib.request; print(urllib.request.urlopen("http://${VIP}:8080/who", timeout=1).read().decode().strip())`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}


test('the virtual IP follows its group to the backup, not while another host answers for it', async () => {
  if (skip) return void console.log(`skipped: ${skip}`);
  lan = makeLan('durun-cl4-', '10.213.9', HOSTS);
  cluster = await startCluster('durun-cl4-', 19407, ['10.213.9.1'], lan.name);
  const endpoint = 'http://10.213.9.1:19407';
  const a = await cluster.start('a', 19440, { netns: ns('a'), endpoint });
  const b = await cluster.start('b', 19441, { netns: ns('b'), endpoint });
  writeFileSync(`${a.dir}.data/who`, 'a\n');
  writeFileSync(`${b.dir}.data/who`, 'b\n');
  const policy = path.join(cluster.base, 'web.ini');
  writeFileSync(policy, `[group web]\ncommand = python3 -m http.server 8080 --bind 0.0.0.0 --directory ${cluster.data}\nnodes = a, b\nautostart = yes\nvip = ${VIP}/24\nvip.dev = eth0\n`);
  assert.is(durunSync(a.env, ['up', '-f', policy]).code, 0);
  await waitFor('the client served by a through the virtual IP', () => who() === 'a', 20_000, 200);
  assert.ok(holds('a') && !holds('b'), 'the address is on a only');
  assert.is(a.status().groups[0]!.vip!.held, true);

  // a dies: its programs and supervisor are killed, but its interface still answers for the address.
  await a.kill9();
  await waitFor('web running on b', () => group(b.env, 'web')?.state === 'running', 20_000, 100);
  const refused = await waitFor('b to see the other holder', () => b.status().groups[0]?.vip?.problem, 10_000, 200);
  assert.match(refused, /held by/);
  assert.not.ok(holds('b'), 'b added the address while a still had it');
  // a's node is gone from the network now (its interface down): b takes the address and announces it.
  execFileSync('ip', ['-n', ns('a'), 'link', 'set', 'eth0', 'down']);
  await waitFor('the client served by b through the virtual IP', () => who() === 'b', 20_000, 200);
  assert.ok(holds('b'));
  const s = b.status().groups[0]!;
  assert.equal([s.owner, s.vip!.held, s.vip!.problem], ['b', true, null]);
  // A node that leaves gives the address up with its groups.
  assert.is(durunSync(b.env, ['shutdown']).code, 0);
  await waitFor('b to release the address as it leaves', () => !holds('b'), 15_000, 100);
});

test.run();
