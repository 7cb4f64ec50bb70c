// Live migration across nodes (issue 10): `durun migrate GROUP --to NODE`.
// Nodes a and b are network namespaces on one bridge (in a namespace of the
// test's own, with etcd), a client in a third streams lines to a counter
// server through the group's virtual IP on one TCP connection. The move
// takes the server with its count and the connection to b, the address
// follows, and the client's connection goes on: every answer the next
// count, none lost or repeated.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clusterSkipReason, makeLan, startCluster, type Cluster, type Lan, type Node } from './helpers/cluster.js';
import { durunSync, group } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';
import { ROOT } from './helpers/paths.js';

const skip = clusterSkipReason()
  ?? (spawnSync('sh', ['-c', 'command -v arping']).status !== 0 ? 'arping is not installed (Debian: iputils-arping)' : null)
  ?? (spawnSync('sh', ['-c', 'command -v nft']).status !== 0 ? 'nft is not installed (Debian: nftables)' : null);
const HOSTS = { a: '10.213.10.2', b: '10.213.10.3', c: '10.213.10.4' } as const;
const VIP = '10.213.10.100';
const PORT = 8081;
let cluster: Cluster;
let lan: Lan | null = null;
/** Nodes a and b, started by the first test. */
let nodes: Node[] = [];

test.after(async () => {
  await cluster?.cleanup();
  lan?.remove();
});

// One connection; a line every 2 ms; each answer must be the next count; every 20 answers the count so far
// goes to the file `progress`. Runs until the file `stop` exists.
const CLIENT = [
  'import socket, sys, time, os',
  'out, stop, progress = sys.argv[1], sys.argv[2], sys.argv[4]',
  `s = socket.create_connection(("${VIP}", ${PORT}), timeout=10)`,
  'f = s.makefile("rb")',
  'n = int(sys.argv[3]); worst = 0.0; sent = 0',
  'try:',
  '    while not os.path.exists(stop):',
  '        t = time.time(); s.sendall(b"x\\n"); got = f.readline(); sent += 1',
  '        worst = max(worst, time.time() - t)',
  '        n += 1',
  '        if got.strip() != str(n).encode(): open(out, "w").write("bad %r where %d was due\\n" % (got, n)); sys.exit(1)',
  '        if sent % 20 == 0: open(progress, "w").write(str(sent))',
  '        time.sleep(0.002)',
  '    open(out, "w").write("ok %d %d %.0f\\n" % (sent, n, worst * 1000))',
  'except Exception as e:',
  '    open(out, "w").write("error %s after %d\\n" % (e, sent))',
].join('\n');

test('durun migrate --to b: the group, its count, its address and a client\'s connection go to node b', async () => {
  if (skip) return void console.log(`skipped: ${skip}`);
  lan = makeLan('durun-cl5-', '10.213.10', HOSTS);
  cluster = await startCluster('durun-cl5-', 19408, ['10.213.10.1'], lan.name);
  const endpoint = 'http://10.213.10.1:19408';
  const a = await cluster.start('a', 19450, { netns: lan!.ns('a'), endpoint, listenHost: HOSTS.a });
  const b = await cluster.start('b', 19451, { netns: lan!.ns('b'), endpoint, listenHost: HOSTS.b });
  nodes = [a, b];
  const app = path.join(ROOT, 'test', 'fixtures', 'servers', 'counter.py');
  const policy = path.join(cluster.base, 'counter.ini');
  writeFileSync(policy, `[group counter]\ncommand = python3 ${app} 0.0.0.0 ${PORT}\nnodes = a, b\nautostart = yes\nvip = ${VIP}/24\nvip.dev = eth0\n`);
  assert.is(durunSync(a.env, ['up', '-f', policy]).code, 0);
  await waitFor('the counter running on a with its address', () => group(a.env, 'counter')?.state === 'running' && lan!.holds('a', VIP), 20_000, 100);

  const out = path.join(cluster.base, 'client.out');
  const stop = path.join(cluster.base, 'client.stop');
  const progress = path.join(cluster.base, 'client.progress');
  const client = spawn('ip', ['netns', 'exec', lan!.ns('c'), 'python3', '-c', CLIENT, out, stop, '0', progress], { stdio: 'ignore' });
  const clientEnded = new Promise((r) => client.once('exit', r));
  const answered = () => (existsSync(progress) ? Number(readFileSync(progress, 'utf8')) || 0 : 0);
  await waitFor('the client connected and counting', () => answered() >= 100, 20_000, 50);

  const mig = durunSync(a.env, ['migrate', 'counter', '--to', 'b', '--json'], { timeoutMs: 60_000 });
  assert.is(mig.code, 0, `durun migrate --to b: ${mig.stderr}${mig.stdout}`);
  const answer = JSON.parse(mig.stdout) as { node: string; connections: number };
  assert.is(answer.node, 'b');
  assert.is(answer.connections, 1, 'the client connection was carried');
  await waitFor('the counter running on b', () => group(b.env, 'counter')?.state === 'running', 20_000, 100);
  const atMove = answered();
  await waitFor('the client goes on talking to b', () => answered() >= atMove + 100, 20_000, 50);
  writeFileSync(stop, '');
  await clientEnded;
  const verdict = readFileSync(out, 'utf8').trim();
  assert.match(verdict, /^ok /, `the client's one connection across the move: ${verdict}`);
  assert.ok(lan!.holds('b', VIP) && !lan!.holds('a', VIP), 'the address moved to b');
  assert.is(b.status().groups.find((g) => g.group === 'counter')?.owner, 'b');
  assert.not.ok(group(a.env, 'counter')?.processes.some((p) => p.state === 'running'), 'nothing of the counter runs on a');
  const [, sent, count, worst] = verdict.split(' ');
  console.log(`  ${sent} requests on one connection, count ${count}, slowest answer ${worst} ms (across the move); steps ${JSON.stringify((answer as unknown as { steps: unknown }).steps)}`);
});

// Each request retried on error (50 ms apart, up to 10 s); prints the answers seen, in order, without repeats, or
// "lost"; the answers seen so far also go to the file `progress` as they change.
const RETRYING = [
  'import sys, time, os, urllib.request',
  'url, out, stop, progress = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]',
  'seen = []',
  'while not os.path.exists(stop):',
  '    until = time.time() + 10',
  '    while True:',
  '        try:',
  '            got = urllib.request.urlopen(url, timeout=1).read().decode().strip(); break',
  '        except Exception as e:',
  '            if time.time() > until: open(out, "w").write("lost %s\\n" % e); sys.exit(1)',
  '            time.sleep(0.05)',
  '    if not seen or seen[-1] != got: seen.append(got); open(progress, "w").write(",".join(seen))',
  '    time.sleep(0.01)',
  'open(out, "w").write("ok " + ",".join(seen) + "\\n")',
].join('\n');

test('durun upgrade: the new version starts on the backup and takes the address, no request of a retrying client lost; refused without a backup', async () => {
  if (skip) return void console.log(`skipped: ${skip}`);
  const [a, b] = nodes;
  if (!a || !b) throw new Error('the nodes of the first test are not up');
  writeFileSync(`${a.dir}.data/who`, 'a v1\n');
  writeFileSync(`${b.dir}.data/who`, 'b v2\n');
  const vip2 = '10.213.10.101';
  const policy = path.join(cluster.base, 'web.ini');
  writeFileSync(policy, `[group web]\ncommand = python3 -m http.server 8082 --bind 0.0.0.0 --directory ${cluster.data}\nnodes = a, b\nautostart = yes\nvip = ${vip2}/24\nvip.dev = eth0\n\n[group solo]\ncommand = sleep 600\nnodes = a\nautostart = yes\n`);
  assert.is(durunSync(a.env, ['up', '-f', policy]).code, 0);
  await waitFor('web running on a with its address', () => group(a.env, 'web')?.state === 'running' && lan!.holds('a', vip2), 20_000, 100);
  const out = path.join(cluster.base, 'retrying.out');
  const stop = path.join(cluster.base, 'retrying.stop');
  const progress = path.join(cluster.base, 'retrying.progress');
  const client = spawn('ip', ['netns', 'exec', lan!.ns('c'), 'python3', '-c', RETRYING, `http://${vip2}:8082/who`, out, stop, progress], { stdio: 'ignore' });
  const clientEnded = new Promise((r) => client.once('exit', r));
  const seen = () => (existsSync(progress) ? readFileSync(progress, 'utf8') : '');
  await waitFor('the client served by the old version', () => seen() === 'a v1', 20_000, 50);
  const up = durunSync(a.env, ['upgrade', 'web', '--json'], { timeoutMs: 60_000 });
  assert.is(up.code, 0, `durun upgrade web: ${up.stderr}${up.stdout}`);
  const answer = JSON.parse(up.stdout) as { node: string; from: string; downMs: number };
  assert.equal([answer.from, answer.node], ['a', 'b']);
  await waitFor('web running on b', () => group(b.env, 'web')?.state === 'running', 20_000, 100);
  await waitFor('the client served by the new version', () => seen().endsWith('b v2'), 20_000, 50);
  writeFileSync(stop, '');
  await clientEnded;
  assert.is(readFileSync(out, 'utf8').trim(), 'ok a v1,b v2', 'every request answered, first by the old version, then by the new');
  assert.ok(lan!.holds('b', vip2) && !lan!.holds('a', vip2), 'the address followed the upgrade');
  assert.not.ok(group(a.env, 'web')?.processes.some((p) => p.state === 'running'), 'the old primary runs nothing of web');
  console.log(`  upgrade: ${answer.downMs} ms without service`);

  const solo = durunSync(a.env, ['upgrade', 'solo']);
  assert.is.not(solo.code, 0);
  assert.match(solo.stderr, /no live backup node/);
  assert.is(group(a.env, 'solo')?.state, 'running', 'refused: solo runs on');
});

test.run();
