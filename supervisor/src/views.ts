// Builds the stable `ps` views (protocol/views.ts) from the model, with CPU
// and memory of running processes from pidusage.
import pidusage from 'pidusage';
import type { Registry } from './model/registry.js';
import type { GroupRecord, ProcRecord, ProgramRecord } from './model/types.js';
import type { GroupView, ProcessView, ProgramView } from './protocol/views.js';
import { readStat } from './procfs.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

interface Usage { cpu: number; rss: number; ppid: number }

/** A sample serves every request that arrives within this long (a flood of `ps` costs one sampling). */
const SAMPLE_FRESH_MS = 500;
let sample: { at: number; pids: Set<number>; result: Promise<Map<number, Usage>> } | null = null;
/**
 * pidusage learns the clock tick and page size by running `getconf` in a
 * shell the first time; calls made before that answer each start their own
 * shells. One awaited call first makes every later one read /proc only.
 */
let primed: Promise<unknown> | null = null;

/** CPU and memory of pids, from a sample shared by concurrent requests. */
function usage(pids: number[]): Promise<Map<number, Usage>> {
  const fresh = sample && Date.now() - sample.at < SAMPLE_FRESH_MS && pids.every((p) => sample!.pids.has(p));
  if (!fresh) sample = { at: Date.now(), pids: new Set(pids), result: measure(pids) };
  return sample!.result;
}

async function measure(pids: number[]): Promise<Map<number, Usage>> {
  primed ??= pidusage(process.pid).catch((err: Error) => err);
  await primed;
  const out = new Map<number, Usage>();
  // One pid at a time: pidusage rejects the whole batch when any pid has just exited.
  await Promise.all(pids.map(async (pid) => {
    try {
      const s = await pidusage(pid);
      out.set(pid, { cpu: Math.round(s.cpu * 10) / 10, rss: s.memory, ppid: s.ppid });
    } catch {
      // the process ended between the listing and the measurement: no numbers for it
    }
  }));
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

export async function groupViews(registry: Registry, groups: GroupRecord[], withHistory: boolean): Promise<GroupView[]> {
  const running = groups.flatMap((g) => registry.liveProcessesOf(g).map((p) => p.pid));
  const u = await usage(running);
  return groups.map((g) => ({
    name: g.name, state: g.state, restarts: g.restarts, failedReason: g.failedReason,
    programs: g.programs.map((p) => programView(p, registry.runner(g.name, p.id) !== undefined)),
    processes: oncePerPid(g.processes).map((p) => processView(p, u.get(p.pid))),
    ...(withHistory ? { history: g.history.map((h) => ({ ...h, at: iso(h.at)! })) } : {}),
  }));
}
