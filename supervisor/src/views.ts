// Builds the stable `ps` views (protocol/views.ts) from the model, with CPU
// and memory of running processes read from /proc/PID/stat (synchronously:
// about 10 µs a process, where pidusage's asynchronous reads took 100 ms
// for 1,000; ARCHITECTURE.md, "Libraries chosen over own code").
import type { Registry } from './model/registry.js';
import type { GroupRecord, ProcRecord, ProgramRecord } from './model/types.js';
import type { GroupView, ProcessView, ProgramView } from './protocol/views.js';
import { PAGE_BYTES, TICKS_PER_SECOND, readStat, uptimeSeconds } from './procfs.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

interface Usage { cpu: number; rss: number; ppid: number }

/** A sample serves every request that arrives within this long (a flood of `ps` costs one sampling). */
const SAMPLE_FRESH_MS = 500;
/** How long a pid's last reading is kept for the next `ps` to measure CPU against. */
const READING_KEEP_MS = 60_000;
let sample: { at: number; pids: Set<number>; result: Map<number, Usage> } | null = null;
/** The last reading of each pid: CPU is the share used since then (the first time: since the process started). */
const readings = new Map<number, { ticks: number; startTime: number; at: number }>();

/** CPU and memory of pids, from a sample shared by requests that come close together. */
function usage(pids: number[]): Map<number, Usage> {
  const fresh = sample && Date.now() - sample.at < SAMPLE_FRESH_MS && pids.every((p) => sample!.pids.has(p));
  if (!fresh) sample = { at: Date.now(), pids: new Set(pids), result: measure(pids) };
  return sample!.result;
}

function measure(pids: number[]): Map<number, Usage> {
  const now = Date.now();
  const uptime = uptimeSeconds();
  const out = new Map<number, Usage>();
  for (const pid of pids) {
    const st = readStat(pid);
    if (!st) continue; // ended between the listing and the measurement: no numbers for it
    const last = readings.get(pid);
    const same = last !== undefined && last.startTime === st.startTime && st.cpuTicks >= last.ticks;
    const seconds = same ? (now - last.at) / 1000 : uptime - st.startTime / TICKS_PER_SECOND;
    const ticks = same ? st.cpuTicks - last.ticks : st.cpuTicks;
    const cpu = seconds > 0 ? (ticks / TICKS_PER_SECOND / seconds) * 100 : 0;
    out.set(pid, { cpu: Math.round(cpu * 10) / 10, rss: st.rssPages * PAGE_BYTES, ppid: st.ppid });
    readings.set(pid, { ticks: st.cpuTicks, startTime: st.startTime, at: now });
  }
  for (const [pid, r] of readings) if (now - r.at > READING_KEEP_MS) readings.delete(pid);
  return out;
}

function processView(p: ProcRecord, u: Usage | undefined): ProcessView {
  // Orphans re-parent (to the runner, a subreaper): show the parent they have now.
  const ppid = p.state === 'running' ? u?.ppid ?? readStat(p.pid)?.ppid ?? p.ppid : p.ppid;
  return {
    pid: p.pid, ppid, exe: p.exe, argv: p.argv, execCount: p.execCount, state: p.state,
    exitStatus: p.exitStatus, signal: p.signal, startedAt: iso(p.startedAt)!, endedAt: iso(p.endedAt),
    cpu: u?.cpu ?? null, rss: u?.rss ?? null, program: p.program, instance: p.instance, preloaded: p.preloaded,
  };
}

function programView(p: ProgramRecord, connected: boolean): ProgramView {
  return {
    id: p.id, argv: p.argv, cwd: p.cwd, restart: p.restart, detached: p.detached, runnerPid: p.runnerPid,
    runnerConnected: connected, instance: p.instance, rootPid: p.rootPid, state: p.state, restarts: p.restarts,
    lastExit: p.lastExit, logPath: p.logPath, options: { ...p.options },
  };
}

/**
 * Each pid once: a pid's records are one process's life, and a second one
 * (a record ended as 'lost' and made again when the process spoke, a pid
 * reused by the program) would show it twice. The live record wins, else
 * the newest.
 */
function oncePerPid(records: ProcRecord[]): ProcRecord[] {
  const chosen = new Map<number, ProcRecord>();
  for (const r of records) {
    const had = chosen.get(r.pid);
    if (!had || had.state !== 'running') chosen.set(r.pid, r);
  }
  return records.filter((r) => chosen.get(r.pid) === r);
}

export function groupViews(registry: Registry, groups: GroupRecord[], withHistory: boolean): GroupView[] {
  const running = groups.flatMap((g) => registry.liveProcessesOf(g).map((p) => p.pid));
  const u = usage(running);
  return groups.map((g) => ({
    name: g.name, state: g.state, restarts: g.restarts, failedReason: g.failedReason,
    programs: g.programs.map((p) => programView(p, registry.runner(g.name, p.id) !== undefined)),
    processes: oncePerPid(g.processes).map((p) => processView(p, u.get(p.pid))),
    ...(withHistory ? { history: g.history.map((h) => ({ ...h, at: iso(h.at)! })) } : {}),
  }));
}
