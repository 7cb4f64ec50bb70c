// Watching through /proc what links cannot tell: at start-up, which
// remembered processes survived (re-adoption); afterwards, descendants that
// never registered (static, setuid) and unlinked processes that vanished.
import type { Registry } from './model/registry.js';
import type { GroupRecord, ProcRecord } from './model/types.js';
import { callHomeSignal } from './signals.js';
import { descendants, hasInterceptor, isRunning, readCmdline, readComm, readCwd, readExe, readStat } from './procfs.js';
import { diag } from './diag.js';

/** Interceptor links report almost everything; the scan only catches what cannot load the interceptor. */
export const SCAN_INTERVAL_MS = 5000;

/** Re-adopts what a previous supervisor left: drops the dead, asks the living interceptors to call home. */
export function adoptSurvivors(registry: Registry): void {
  const signal = callHomeSignal();
  let kept = 0;
  let asked = 0;
  for (const group of registry.groups.values()) {
    for (const rec of registry.liveProcessesOf(group)) {
      const st = readStat(rec.pid);
      if (!st || st.state === 'Z' || (rec.startTime !== null && st.startTime !== rec.startTime)) {
        registry.endProcess(rec, { state: 'lost', status: null, signal: null });
        continue;
      }
      kept++;
      if (rec.preloaded && hasInterceptor(rec.pid)) {
        try {
          process.kill(rec.pid, signal);
          asked++;
        } catch (err) {
          diag(`cannot send call-home signal to ${rec.pid}: ${(err as Error).message}`);
        }
      }
    }
    for (const program of group.programs) {
      if ((program.state === 'running' || program.state === 'restarting') && !isRunning(program.runnerPid)) program.state = 'lost';
    }
    registry.settle(group);
  }
  diag(`re-adopted ${kept} running process(es); asked ${asked} interceptor(s) to call home`);
}

/**
 * A runner came back after a supervisor restart: every process in its
 * subtree that carries the interceptor and has no link yet is asked to call
 * home, including processes born too late to be in the saved state.
 */
export function callHomeSubtree(runnerPid: number, linked: ReadonlySet<number>): void {
  const signal = callHomeSignal();
  for (const d of descendants(runnerPid)) {
    if (linked.has(d.pid) || d.state === 'Z' || !hasInterceptor(d.pid)) continue;
    try {
      process.kill(d.pid, signal);
    } catch (err) {
      diag(`cannot send call-home signal to ${d.pid}: ${(err as Error).message}`);
    }
  }
}

/**
 * One pass of the periodic scan. `linked` is the set of pids with an open
 * interceptor link. A process that vanished with no link and no report (its
 * parent's `reaped` went down a link the last supervisor took with it) goes
 * to `vanished`, which judges it like a broken link: an unplanned end.
 */
export function scanOnce(registry: Registry, linked: ReadonlySet<number>, vanished: (group: GroupRecord, rec: ProcRecord) => void): void {
  for (const group of registry.groups.values()) {
    for (const rec of registry.liveProcessesOf(group)) {
      const hasLink = linked.has(rec.pid);
      if ((hasLink && rec.startTime !== null) || rec.pendingExec) continue;
      const st = readStat(rec.pid);
      if (hasLink) {
        // Registered without a /proc read (proc-events.ts): its start time, to tell pid reuse after a supervisor restart.
        if (st) rec.startTime = st.startTime;
        continue;
      }
      if (!st || (rec.startTime !== null && st.startTime !== rec.startTime)) {
        vanished(group, rec);
        continue;
      }
      // A fork child known from its parent's report: its start time, and whether it exec'd an image that cannot register.
      rec.startTime ??= st.startTime;
      if (rec.preloaded && st.state !== 'Z') refreshUnlinked(registry, rec);
    }
    for (const program of group.programs) {
      if (program.state !== 'running' || !isRunning(program.runnerPid)) continue;
      for (const d of descendants(program.runnerPid)) {
        if (registry.liveProcess(d.pid) || d.state === 'Z') continue;
        // A checkpoint writer names itself at once; its hello may still be on the way.
        if (registry.isInternal(d.pid) || readComm(d.pid) === 'durun-writer') continue;
        registry.addProcess(group, unregistered(d.pid, d.ppid, d.startTime, program.id, program.instance));
      }
    }
  }
}

/**
 * A process without a link of its own (a fork child that has said nothing
 * yet) whose /proc/PID/exe is not what we know ran exec on an image that
 * could not load the interceptor (static, setuid): take exe and argv from
 * /proc. A dynamic image registers itself and its hello wins later.
 */
export function refreshUnlinked(registry: Registry, rec: ProcRecord): void {
  const exe = readExe(rec.pid);
  if (exe === null || exe === rec.exe) return;
  const argv = readCmdline(rec.pid);
  rec.execChain.push({ path: exe, argv, at: Date.now() });
  Object.assign(rec, { exe, argv, execCount: rec.execCount + 1, preloaded: false });
  registry.changed();
}

function unregistered(pid: number, ppid: number, startTime: number, program: number, instance: number): ProcRecord {
  const exe = readExe(pid) ?? '?';
  const argv = readCmdline(pid);
  return {
    pid, ppid, exe, argv, cwd: readCwd(pid), execCount: 0, state: 'running', exitStatus: null, signal: null,
    startedAt: Date.now(), endedAt: null, program, instance, preloaded: false, startTime,
    execChain: [{ path: exe, argv, at: Date.now() }], pendingExec: null, plannedExit: null,
  };
}
