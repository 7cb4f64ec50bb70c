// Several durun nodes on one machine (cluster mode, issue 10): an etcd of the
// test's own on loopback ports, and per node a supervisor with its own state
// directory, bind-mounted in a mount namespace of its own at one common path
// (nodes of a cluster keep checkpoints at the same path: images name their
// parents by absolute path). A node "dies" by SIGKILL of its supervisor and
// its programs (pids it reported, all started by the test). Root only.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './paths.js';
import { isAlive, waitFor } from './wait.js';
import { durunSync, ps } from './durun.js';
import { removeTree } from './home.js';
import type { ClusterStatus } from '../../supervisor/src/protocol/cluster-requests.js';

/** Why these tests cannot run here, or null. */
export function clusterSkipReason(): string | null {
  if (process.getuid!() !== 0) return 'cluster tests need root (a mount namespace per node)';
  for (const tool of ['etcd', 'unshare']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (Debian: etcd-server, util-linux)`;
  }
  return null;
}

export interface Etcd { url: string; stop(): Promise<void> }

/** etcd on 127.0.0.1:clientPort (and on each of alsoOn, e.g. a veth address; peer clientPort+1), in netns if given, data in dir; resolves once it answers. */
export async function startEtcd(dir: string, clientPort: number, alsoOn: string[] = [], netns?: string): Promise<Etcd> {
  const inNs = netns ? ['ip', 'netns', 'exec', netns] : [];
  const url = `http://127.0.0.1:${clientPort}`;
  const listen = [url, ...alsoOn.map((h) => `http://${h}:${clientPort}`)].join(',');
  const peer = `http://127.0.0.1:${clientPort + 1}`;
  const log = openSync(path.join(dir, 'etcd.log'), 'a');
  const etcdArgv = [...inNs, 'etcd',
    '--name', 'test', '--data-dir', path.join(dir, 'etcd-data'), '--listen-client-urls', listen, '--advertise-client-urls', url,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `test=${peer}`];
  const child = spawn(etcdArgv[0]!, etcdArgv.slice(1), { stdio: ['ignore', log, log] });
  await waitFor('etcd to answer', () => {
    // Another etcd on these ports would answer for ours: ours must still run.
    if (!isAlive(child.pid!)) throw new Error(`etcd exited (ports ${clientPort}-${clientPort + 1} taken?); see ${dir}/etcd.log`);
    const ctl = [...inNs, 'etcdctl', '--endpoints', url, 'endpoint', 'health'];
    return spawnSync(ctl[0]!, ctl.slice(1), { env: { ...process.env, ETCDCTL_API: '3' } }).status === 0;
  }, 20_000, 100);
  if (!isAlive(child.pid!)) throw new Error(`etcd exited (ports ${clientPort}-${clientPort + 1} taken?); see ${dir}/etcd.log`);
  return { url, stop: () => stopChild(child) };
}

/** The pid in a node's supervisor.pid, or null. */
export function supervisorPid(dir: string): number | null {
  try {
    return Number(readFileSync(path.join(dir, 'supervisor.pid'), 'utf8')) || null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await waitFor(`pid ${child.pid} to exit`, () => !isAlive(child.pid!), 10_000);
}

export interface Node {
  name: string;
  /** This node's own state directory (outside its namespace). */
  dir: string;
  /** durun's environment for talking to this node from the test. */
  env: NodeJS.ProcessEnv;
  supervisor: ChildProcess;
  status(): ClusterStatus;
  /** SIGKILL the supervisor and every process and runner of its groups; resolves when they are gone. */
  kill9(): Promise<void>;
}

export interface NodeOptions {
  lease?: string;
  /** A network namespace to run the supervisor in (ip netns exec), and the etcd URL it reaches from there. */
  netns?: string;
  endpoint?: string;
  /** HOST where its replication server listens (the node's own address in its netns; default 127.0.0.1). */
  listenHost?: string;
}

export interface Cluster {
  base: string;
  /** Where every node sees its own state directory. */
  common: string;
  /** Where every node sees a data directory of its own (outside durun's state, so a checkpoint carries its files); NAME.data outside. */
  data: string;
  etcd: Etcd;
  start(name: string, replPort: number, opts?: NodeOptions): Promise<Node>;
  cleanup(): Promise<void>;
}

export async function startCluster(prefix: string, etcdPort: number, etcdAlsoOn: string[] = [], etcdNetns?: string): Promise<Cluster> {
  const base = mkdtempSync(path.join(os.tmpdir(), prefix));
  const common = path.join(base, 'home');
  const data = path.join(base, 'data');
  mkdirSync(common, { mode: 0o700 });
  mkdirSync(data, { mode: 0o700 });
  writeFileSync(path.join(base, 'secret'), randomBytes(32), { mode: 0o600 });
  const etcd = await startEtcd(base, etcdPort, etcdAlsoOn, etcdNetns);
  const nodes: Node[] = [];
  return {
    base, common, data, etcd,
    async start(name, replPort, opts = {}) {
      const dir = path.join(base, name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      mkdirSync(`${dir}.data`, { recursive: true, mode: 0o700 });
      writeFileSync(path.join(dir, 'cluster.ini'), `[cluster]\nname = t\nnode = ${name}\nendpoints = ${opts.endpoint ?? etcd.url}\nlease = ${opts.lease ?? '2s'}\nsecret_file = ../secret\nlisten = ${opts.listenHost ?? '127.0.0.1'}:${replPort}\n`, { mode: 0o600 });
      const env: NodeJS.ProcessEnv = { ...process.env, DURUN_HOME: dir };
      delete env.LD_PRELOAD;
      const log = openSync(path.join(base, `${name}.out`), 'a');
      // The supervisor sees dir at the common path; its runners and programs inherit that view.
      // In its netns (ip netns exec execs in place), then a mount namespace of its own; sh execs node: one pid throughout.
      const argv = [
        ...(opts.netns ? ['ip', 'netns', 'exec', opts.netns] : []), 'unshare', '--mount', '--propagation', 'private', '--',
        'sh', '-c', 'mount --bind "$1" "$2" && mount --bind "$1.data" "$3" && exec "$4" "$5"', 'sh', dir, common, data, process.execPath, path.join(ROOT, 'dist', 'supervisor', 'src', 'main.js'),
      ];
      const supervisor = spawn(argv[0]!, argv.slice(1), {
        env: { ...env, DURUN_HOME: common }, stdio: ['ignore', log, log],
      });
      const node: Node = {
        name, dir, env, supervisor,
        status: () => {
          const r = durunSync(env, ['cluster', '--json']);
          if (r.code !== 0) throw new Error(`durun cluster on ${name}: ${r.stderr}`);
          return JSON.parse(r.stdout) as ClusterStatus;
        },
        async kill9() {
          const pids = ps(env).groups.flatMap((g) => [...g.programs.map((p) => p.runnerPid), ...g.processes.filter((p) => p.state === 'running').map((p) => p.pid)]).filter((p): p is number => typeof p === 'number' && p > 1);
          for (const pid of [supervisor.pid!, ...pids]) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
            }
          }
          await waitFor(`node ${name}'s processes gone`, () => [supervisor.pid!, ...pids].every((p) => !isAlive(p)), 10_000);
        },
      };
      nodes.push(node);
      await waitFor(`node ${name} to join`, () => node.status().state === 'member', 20_000, 100);
      return node;
    },
    async cleanup() {
      for (const n of nodes) {
        // The node's supervisor now: the one started here, or one its runners started after it was killed.
        const pid = supervisorPid(n.dir);
        if (pid === null || !isAlive(pid)) continue;
        durunSync(n.env, ['shutdown', '--stop-all']);
        await waitFor(`node ${n.name} to exit`, () => !isAlive(pid), 30_000);
      }
      await etcd.stop();
      if (!process.env.DURUN_TEST_KEEP) removeTree(base); // kept for a post-mortem when asked
    },
  };
}

/** Hosts as network namespaces on one bridge, for tests of addresses between nodes. */
export interface Lan {
  /** The namespace holding the bridge (and, in the tests, etcd). */
  name: string;
  bridgeAddress: string;
  /** The namespace of host h. */
  ns(h: string): string;
  /** Whether host h has address on its eth0. */
  holds(h: string, address: string): boolean;
  remove(): void;
}

/** `${prefix}lan` with bridge br0 at SUBNET.1/24, and per host `${prefix}HOST` with eth0 at its address /24, all up. */
export function makeLan(prefix: string, subnet: string, hosts: Record<string, string>): Lan {
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const name = `${prefix}lan`;
  const ns = (h: string) => `${prefix}${h}`;
  ip('netns', 'add', name);
  ip('-n', name, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', name, 'addr', 'add', `${subnet}.1/24`, 'dev', 'br0');
  ip('-n', name, 'link', 'set', 'br0', 'up');
  ip('-n', name, 'link', 'set', 'lo', 'up');
  for (const [h, addr] of Object.entries(hosts)) {
    ip('netns', 'add', ns(h));
    ip('-n', name, 'link', 'add', `p${h}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(h));
    ip('-n', name, 'link', 'set', `p${h}`, 'master', 'br0');
    ip('-n', name, 'link', 'set', `p${h}`, 'up');
    ip('-n', ns(h), 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
    ip('-n', ns(h), 'link', 'set', 'eth0', 'up');
    ip('-n', ns(h), 'link', 'set', 'lo', 'up');
  }
  return {
    name, bridgeAddress: `${subnet}.1`, ns,
    holds: (h, address) => ip('-n', ns(h), '-o', 'addr', 'show', 'dev', 'eth0').includes(`${address}/24`),
    remove: () => {
      for (const n of [name, ...Object.keys(hosts).map(ns)]) spawnSync('ip', ['netns', 'del', n]);
    },
  };
}
