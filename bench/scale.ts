// Everyday operation at scale (issue 13): read commands, idle memory and
// stop-all with many programs, and launch cost against a long history. Each
// figure is compared with the same measurement at a small size in the same
// run. DURUN_BENCH_PROGRAMS sets the size (default 1,000).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DURUN, benchHome, fmt, median, run, timeRun, type BenchHome, type Row } from './lib.js';

const rssMiB = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024;
const supervisorPid = (h: BenchHome) => Number(readFileSync(path.join(h.dir, 'supervisor.pid'), 'utf8'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isAlive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
  } catch {
    return false;
  }
}

/** n detached programs in n groups, waited for until all run. */
async function populate(h: BenchHome, n: number): Promise<void> {
  for (let i = 0; i < n; i++) run(h.env, [DURUN, '--detach', '--group', `p${i}`, '--', 'sleep', '100000']);
  for (;;) {
    const view = JSON.parse(run(h.env, [DURUN, 'ps', '--json']).stdout) as { groups: Array<{ state: string }> };
    if (view.groups.filter((g) => g.state === 'running').length >= n) return;
    await sleep(500);
  }
}

const medianOf = (h: BenchHome, cmd: string[], rounds = 15) => median(Array.from({ length: rounds }, () => timeRun(h.env, cmd)));

async function stopAllMs(h: BenchHome): Promise<number> {
  const pid = supervisorPid(h);
  const t0 = Date.now();
  run(h.env, [DURUN, 'shutdown', '--stop-all']);
  while (isAlive(pid)) await sleep(20);
  return Date.now() - t0;
}

export async function scaleBench(n = Number(process.env.DURUN_BENCH_PROGRAMS) || 1000): Promise<Row[]> {
  const small = benchHome();
  const big = benchHome();
  try {
    await populate(small, 1);
    await populate(big, n);
    const rows: Row[] = [];
    for (const cmd of [['ps', '--json'], ['ps'], ['status', '--json'], ['stats', '--json']]) {
      const a = medianOf(small, [DURUN, ...cmd]);
      const b = medianOf(big, [DURUN, ...cmd]);
      rows.push({ benchmark: `durun ${cmd.join(' ')} with ${n} programs (median of 15)`, baseline: `${fmt(a)} (1 program)`, durun: fmt(b), ratio: `×${(b / a).toFixed(2)}`, aim: 'tens of ms' });
    }
    const sup = supervisorPid(big);
    const rss0 = rssMiB(sup);
    await sleep(60_000);
    const rss1 = rssMiB(sup);
    rows.push({ benchmark: `idle supervisor RSS with ${n} programs, then 60 s later`, baseline: `${rssMiB(supervisorPid(small)).toFixed(1)} MiB (1 program)`, durun: `${rss0.toFixed(1)} → ${rss1.toFixed(1)} MiB`, ratio: `${(rss1 - rss0 >= 0 ? '+' : '')}${(rss1 - rss0).toFixed(1)} MiB in 60 s`, aim: 'flat' });
    const s1 = await stopAllMs(small);
    const sn = await stopAllMs(big);
    rows.push({ benchmark: `durun shutdown --stop-all until the supervisor is gone, ${n} programs`, baseline: `${fmt(s1)} (1 program)`, durun: fmt(sn), ratio: `×${(sn / s1).toFixed(1)}`, aim: 'seconds' });
    return rows;
  } finally {
    small.close();
    big.close();
  }
}

/** `durun --group G -- true` into a fresh group vs into one with `history` finished programs. */
export async function historyBench(history = 400, rounds = 30): Promise<Row> {
  const h = benchHome();
  try {
    for (let i = 0; i < history; i++) run(h.env, [DURUN, '--group', 'long', '--', 'true']);
    const fresh: number[] = [];
    const long: number[] = [];
    for (let i = 0; i < rounds; i++) {
      fresh.push(timeRun(h.env, [DURUN, '--group', `fresh${i}`, '--', 'true']));
      long.push(timeRun(h.env, [DURUN, '--group', 'long', '--', 'true']));
    }
    const a = median(fresh);
    const b = median(long);
    return { benchmark: `durun --group G -- true, G with ${history} finished programs (median of ${rounds})`, baseline: `${fmt(a)} (new group)`, durun: fmt(b), ratio: `×${(b / a).toFixed(2)}`, aim: '×1 (independent of history)' };
  } finally {
    h.close();
  }
}
