// Cluster mode on etcd (issue 10): nodes join with leases, one master, the
// policy repository shared through etcd (a change on one node applies on
// all), placement (a group starts only on its primary, even when a backup
// boots first), roles, `durun cluster` and events fanned out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clusterSkipReason, startCluster, supervisorPid, type Cluster, type Node } from './helpers/cluster.js';
import { durunSync, group } from './helpers/durun.js';
import { validJson } from './helpers/schemas.js';
import { isAlive, waitFor } from './helpers/wait.js';

const skip = clusterSkipReason();
let cluster: Cluster;

test.after(async () => {
  await cluster?.cleanup();
});

const running = (n: Node, name: string) => group(n.env, name)?.state === 'running';

test('a backup that boots first waits; the primary starts its group; both see one master and the same policy', async () => {
  if (skip) return void console.log(`skipped: ${skip}`);
  cluster = await startCluster('durun-cl1-', 19401);
  // b (the backup) first: the policy goes into etcd from b, and nothing starts (its primary, a, is not there).
  const b = await cluster.start('b', 19411);
  const policy = path.join(cluster.base, 'web.ini');
  writeFileSync(policy, '[group web]\ncommand = sleep 1000\nnodes = a, b\nautostart = yes\n');
  const up = durunSync(b.env, ['up', '-f', policy]);
  assert.is(up.code, 0, up.stderr);
  assert.not.ok(running(b, 'web'), 'web started on its backup');
  assert.is(b.status().groups.find((g) => g.group === 'web')?.owner ?? null, null);

  const a = await cluster.start('a', 19410);
  await waitFor('web running on its primary a', () => running(a, 'web'), 15_000);
  const sa = validJson('cluster', durunSync(a.env, ['cluster', '--json']).stdout) as unknown as ReturnType<Node['status']>;
  const sb = await waitFor('b to see a', () => {
    const s = b.status();
    return s.nodes.length === 2 ? s : null;
  });
  assert.equal(sa.nodes.map((n) => n.node).sort(), ['a', 'b']);
  assert.ok(sa.master === 'a' || sa.master === 'b', `master ${sa.master}`);
  assert.is(sb.master, sa.master, 'both nodes name the same master');
  const web = sb.groups.find((g) => g.group === 'web')!;
  assert.is(web.owner, 'a');
  assert.equal(web.roles, { a: 'primary', b: 'secondary' });
  assert.not.ok(running(b, 'web'), 'web runs on its backup too');
  assert.ok(sa.lease.validForMs > 0 && sa.lease.validForMs <= 2000, `lease valid for ${sa.lease.validForMs} ms`);
  const text = durunSync(a.env, ['cluster']).stdout;
  assert.match(text, /web\s+a\s+a:primary b:secondary/);
  // durun ps says where it runs and what this node is for each placed group.
  const psB = validJson('ps', durunSync(b.env, ['ps', '--json']).stdout) as { cluster?: { node: string; roles: Record<string, string> } };
  assert.equal(psB.cluster?.roles, { web: 'secondary' });
  assert.match(durunSync(a.env, ['ps']).stdout, /node a of cluster t \(master [ab]\): primary for web/);
});

test('a policy change on one node is applied on the other', async () => {
  if (skip) return;
  const [a, b] = ['a', 'b'].map((n) => ({ env: { ...process.env, DURUN_HOME: path.join(cluster.base, n) } }));
  const extra = path.join(cluster.base, 'extra.ini');
  writeFileSync(extra, '[group tick]\ncommand = sleep 999\nautostart = yes\n');
  const up = durunSync(a!.env, ['up', '-f', extra]);
  assert.is(up.code, 0, up.stderr);
  // Not placed (no nodes =): every node runs it on its own, b included, from the shared policy.
  await waitFor('tick running on b from the shared policy', () => group(b!.env, 'tick')?.state === 'running', 15_000);
  const st = JSON.parse(durunSync(b!.env, ['status', '--json']).stdout) as { policy: { groups: string[] } };
  assert.equal(st.policy.groups.sort(), ['tick', 'web']);
  // An edit of the file on a (watched there) reaches b: tick's command changes, b restarts it.
  writeFileSync(extra, '[group tick]\ncommand = sleep 998\nautostart = yes\n');
  await waitFor('b runs the edited tick', () => group(b!.env, 'tick')?.programs.some((p) => p.argv.join(' ') === 'sleep 998' && p.state === 'running'), 15_000);
});

test('a primary whose supervisor alone is killed: its runners start a new one, and the group ends up running on exactly one node, its owner', async () => {
  if (skip) return;
  const [a, b] = ['a', 'b'].map((n) => ({ dir: path.join(cluster.base, n), env: { ...process.env, DURUN_HOME: path.join(cluster.base, n) } }));
  const before = supervisorPid(a!.dir)!;
  process.kill(before, 'SIGKILL');
  await waitFor('a new supervisor on a, joined', () => {
    const pid = supervisorPid(a!.dir);
    const r = pid !== null && pid !== before && isAlive(pid) ? durunSync(a!.env, ['cluster', '--json']) : null;
    return r?.code === 0 && (JSON.parse(r.stdout) as { state: string }).state === 'member';
  }, 20_000, 100);
  // Back within the lease, it rebinds the owner key and keeps web; later, b has taken web and a fences its copy as it joins.
  const settled = await waitFor('web on its owner only', () => {
    const owner = (JSON.parse(durunSync(b!.env, ['cluster', '--json']).stdout) as { groups: Array<{ group: string; owner: string | null }> }).groups.find((g) => g.group === 'web')?.owner;
    const onA = group(a!.env, 'web')?.state === 'running';
    const onB = group(b!.env, 'web')?.state === 'running';
    return owner && onA !== onB && (owner === 'a') === onA ? owner : null;
  }, 20_000, 200);
  console.log(`  web runs on ${settled} after a's supervisor was killed`);
});

test('events of every node are fanned out through etcd', async () => {
  if (skip) return;
  const b = { env: { ...process.env, DURUN_HOME: path.join(cluster.base, 'b') } };
  const r = await waitFor('an event of node a seen on b', () => {
    const out = durunSync(b.env, ['cluster', 'events', '--json']);
    const doc = JSON.parse(out.stdout) as { events: Array<{ node: string; event: { type: string; group: string | null } }> };
    return doc.events.find((e) => e.node === 'a' && e.event.group === 'web') ?? null;
  }, 10_000);
  assert.ok(r.event.type.length > 0);
});

test('a node not in cluster mode says so', () => {
  if (skip) return;
  const home = path.join(cluster.base, 'single');
  assert.is(durunSync({ ...process.env, DURUN_HOME: home }, ['ps']).code, 0); // starts its supervisor
  const r = durunSync({ ...process.env, DURUN_HOME: home }, ['cluster']);
  durunSync({ ...process.env, DURUN_HOME: home }, ['shutdown']);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /not in cluster mode/);
});

test('a bad cluster.ini and bad placement keys are reported with file:line, and nothing joins', async () => {
  if (skip) return;
  const home = path.join(cluster.base, 'bad');
  mkdirSync(home, { mode: 0o700 });
  writeFileSync(path.join(home, 'cluster.ini'), '[cluster]\nnode = a b\nendpoints = 127.0.0.1:2379\nlease = 1500ms\nsecret_file = nowhere\n', { mode: 0o600 });
  const env = { ...process.env, DURUN_HOME: home };
  assert.is(durunSync(env, ['ps']).code, 0); // starts its supervisor
  const r = durunSync(env, ['cluster']);
  const file = path.join(home, 'cluster.ini');
  assert.is.not(r.code, 0);
  assert.match(r.stderr, `${file}:2: node: "a b" is not a node name`);
  assert.match(r.stderr, `${file}:3: endpoints: "127.0.0.1:2379" is not an etcd client URL`);
  assert.match(r.stderr, `${file}:4: lease: "1500ms" must be whole seconds, at least 2s`);
  assert.match(r.stderr, `${file}:5: secret_file:`);
  const policy = path.join(cluster.base, 'badvip.ini');
  writeFileSync(policy, '[group v]\ncommand = sleep 1\nnodes = a, a\nvip = 10.0.0.300/24\n');
  const up = durunSync(env, ['up', '-f', policy]);
  durunSync(env, ['shutdown']);
  assert.is.not(up.code, 0);
  assert.match(up.stderr, `${policy}:3: nodes: "a, a" names a node twice`);
  assert.match(up.stderr, `${policy}:4: vip: "10.0.0.300/24" is not an IPv4 address with its prefix length`);
});

test.run();
