// Everyday operation at scale (issue 13): read commands, idle memory and
// stop-all with many programs, and launch cost against a long history. Each
// figure is compared with the same measurement at a small size in the same
// run (read commands in turn in both homes). DURUN_BENCH_PROGRAMS sets the
// size (default 1,000).
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

/** CPU time (user + system) the process has used, in ms (USER_HZ = 100). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

interface Timed { wallMs: number; supervisorCpuMs: number }

/** Median wall time of cmd and the supervisor's mean CPU per run, in two homes run in turn so drift in machine load hits both alike. */
function interleaved(a: BenchHome, b: BenchHome, cmd: string[], rounds = 15): [Timed, Timed] {
  const homes = [a, b].map((h) => ({ h, pid: supervisorPid(h), times: [] as number[], cpu: 0 }));
  for (let i = 0; i < rounds; i++) {
    for (const x of homes) {
      const c0 = cpuMs(x.pid);
      x.times.push(timeRun(x.h.env, cmd));
      x.cpu += cpuMs(x.pid) - c0;
    }
  }
  const [ra, rb] = homes.map((x) => ({ wallMs: median(x.times), supervisorCpuMs: x.cpu / rounds }));
  return [ra!, rb!];
}

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
      const [a, b] = interleaved(small, big, [DURUN, ...cmd]);
      const cpu = (t: Timed) => `supervisor CPU ${t.supervisorCpuMs.toFixed(1)} ms`;
      rows.push({
        benchmark: `durun ${cmd.join(' ')} with ${n} programs (median of 15; the supervisor's CPU per request, mean)`,
        baseline: `${fmt(a.wallMs)} (1 program; ${cpu(a)})`, durun: `${fmt(b.wallMs)} (${cpu(b)})`,
        ratio: `×${(b.wallMs / a.wallMs).toFixed(2)}, +${(b.wallMs - a.wallMs).toFixed(1)} ms`, aim: 'tens of ms',
      });
    }
    // Sampled every 5 s for two minutes: the idle heap fills with the 5 s scan's garbage until a collection, so two samples alone say little.
    const sup = supervisorPid(big);
    const samples = [rssMiB(sup)];
    for (let i = 0; i < 24; i++) {
      await sleep(5_000);
      samples.push(rssMiB(sup));
    }
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
    const [rss0, rss1, rss2] = [samples[0]!, samples[12]!, samples[24]!];
    rows.push({
      benchmark: `idle supervisor RSS with ${n} programs: at 0, 60 and 120 s (range in the 1st minute; in the 2nd)`, baseline: `${rssMiB(supervisorPid(small)).toFixed(1)} MiB (1 program)`,
      durun: `${rss0.toFixed(1)} → ${rss1.toFixed(1)} → ${rss2.toFixed(1)} MiB (${range(samples.slice(0, 13))}; ${range(samples.slice(12))})`,
      ratio: `${(rss1 - rss0 >= 0 ? '+' : '')}${(rss1 - rss0).toFixed(1)}, then ${(rss2 - rss1 >= 0 ? '+' : '')}${(rss2 - rss1).toFixed(1)} MiB`, aim: 'flat',
    });
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
