// Runs the benchmarks and prints the results table for bench/README.md.
// Usage: npm run bench [-- NAME...]   (names: launch, forkexec, restart, idle, checkpoint, scale, history, migrate, redis-restore, cluster)
import { launchOverhead } from './launch-overhead.js';
import { forkExec } from './fork-exec.js';
import { restartLatency } from './restart-latency.js';
import { idleFootprint } from './idle-footprint.js';
import { checkpointBench } from './checkpoint.js';
import { historyBench, scaleBench } from './scale.js';
import { migrateBench } from './migrate.js';
import { redisRestoreBench } from './redis-restore.js';
import { clusterFailoverBench } from './cluster-failover.js';
import type { Row } from './lib.js';

const all: Record<string, () => Row | Row[] | Promise<Row | Row[]>> = {
  launch: () => launchOverhead(),
  forkexec: () => forkExec(),
  restart: () => restartLatency(),
  idle: () => idleFootprint(),
  checkpoint: () => checkpointBench(),
  scale: () => scaleBench(),
  history: () => historyBench(),
  migrate: () => migrateBench(),
  'redis-restore': () => redisRestoreBench(),
  cluster: () => clusterFailoverBench(),
};

const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(all);
const rows: Row[] = [];
for (const name of chosen) {
  const bench = all[name];
  if (!bench) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(all).join(', ')}`);
  process.stderr.write(`running ${name}...\n`);
  rows.push(...[await bench()].flat());
}
console.log('| benchmark | baseline | under durun | ratio / added | aim |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.benchmark} | ${r.baseline} | ${r.durun} | ${r.ratio} | ${r.aim} |`);
