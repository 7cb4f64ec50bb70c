// Cluster mode (issue 10), on one machine: two nodes (test/helpers/cluster.ts:
// an etcd of its own, a supervisor per node in a mount namespace), a counter
// group placed on a then b, lease 2 s. Measured as the user sees it, from the
// programs' own log lines (the runner stamps each one):
// * node death to service: SIGKILL of a's supervisor and programs until the
//   restored counter's first tick on b, against `durun restore` of the same
//   checkpoint on one node (request until its first tick) in the same run;
// * replication lag of an incremental checkpoint: from `durun checkpoint`'s
//   answer until the backup has committed it, against the checkpoint's own
//   duration. Root only.
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../test/helpers/cluster.js';
import { compile, lastTick, waitTick } from '../test/helpers/checkpoint.js';
import { durunSync } from '../test/helpers/durun.js';
import { waitFor } from '../test/helpers/wait.js';
import { fmt, type Row } from './lib.js';

/** Writers (the runner's pid column) of a group's tick lines so far. */
function tickWriters(home: string, group: string): Set<string> {
  const dir = path.join(home, 'logs');
  return new Set(readdirSync(dir).filter((n) => n.startsWith(`${group}.`)).flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter((l) => / tick \d+/.test(l)).map((l) => l.split(' ')[1]!)));
}

/** Time (ms since epoch) of the first "tick" line of the group's logs written at or after since by a writer not in old. */
function firstTickAfter(home: string, group: string, since: number, old = new Set<string>()): number | null {
  const dir = path.join(home, 'logs');
  let best: number | null = null;
  for (const f of readdirSync(dir).filter((n) => n.startsWith(`${group}.`))) {
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const t = Date.parse(line.slice(0, 24));
      if (/ tick \d+/.test(line) && t >= since && !old.has(line.split(' ')[1]!) && (best === null || t < best)) best = t;
    }
  }
  return best;
}

export async function clusterFailoverBench(): Promise<Row[]> {
  if (process.getuid!() !== 0) throw new Error('the cluster benchmark needs root (a mount namespace per node)');
  const bin = mkdtempSync(path.join(os.tmpdir(), 'durun-benchcl-'));
  const cluster = await startCluster('durun-benchcl-', 19450);
  try {
    const counter = compile('counter.c', 'counter', bin);
    const a = await cluster.start('a', 19460);
    const b = await cluster.start('b', 19461);
    const policy = path.join(cluster.base, 'count.ini');
    writeFileSync(policy, `[group count]\ncommand = ${counter} ${path.join(cluster.data, 'count.out')} 20\nnodes = a, b\nautostart = yes\n`);
    if (durunSync(a.env, ['up', '-f', policy]).code !== 0) throw new Error('durun up failed');
    await waitTick(a.dir, 'count', 10);
    const ckpt = (): { id: string; durationMs: number } => {
      const r = durunSync(a.env, ['checkpoint', 'count', '--json']);
      if (r.code !== 0) throw new Error(`durun checkpoint: ${r.stderr}`);
      return JSON.parse(r.stdout) as { id: string; durationMs: number };
    };
    const replicated = (id: string) => a.status().groups[0]?.replicas.b?.id === id;
    const full = ckpt();
    await waitFor('the full checkpoint on b', () => replicated(full.id), 20_000, 5);
    await waitTick(a.dir, 'count', lastTick(a.dir, 'count') + 20);
    const inc = ckpt();
    await waitFor('the incremental checkpoint on b', () => replicated(inc.id), 20_000, 5);
    // From the start of the stream (right after the commit) until b committed it, as the sender recorded it.
    const lag = a.status().groups[0]!.replicas.b!.lagMs;

    // One node: durun restore of the newest checkpoint, request to first tick.
    const before = tickWriters(a.dir, 'count');
    const asked = Date.now();
    if (durunSync(a.env, ['restore', 'count']).code !== 0) throw new Error('durun restore failed');
    const local = await waitFor('the locally restored counter ticking', () => firstTickAfter(a.dir, 'count', asked, before), 20_000, 20) - asked;
    // The local restore made the processes new; checkpoint again so b holds what a runs.
    await waitTick(a.dir, 'count', lastTick(a.dir, 'count') + 10);
    const again = ckpt();
    await waitFor('the new checkpoint on b', () => replicated(again.id), 20_000, 5);

    await a.kill9();
    const killed = Date.now();
    const failover = await waitFor('the counter ticking on b', () => firstTickAfter(b.dir, 'count', killed), 30_000, 20) - killed;
    return [
      { benchmark: 'node death to service on the backup, with state (counter, lease 2 s)', baseline: `${fmt(local)} (durun restore on one node)`, durun: fmt(failover), ratio: `+${fmt(failover - local)}`, aim: '≤ 2.5 s' },
      { benchmark: 'replication lag of an incremental checkpoint (backup committed it)', baseline: `${fmt(inc.durationMs)} (the checkpoint itself)`, durun: fmt(lag), ratio: `×${(lag / Math.max(1, inc.durationMs)).toFixed(2)}`, aim: '—' },
    ];
  } finally {
    await cluster.cleanup();
    rmSync(bin, { recursive: true, force: true });
  }
}
