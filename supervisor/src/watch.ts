// Watching through /proc what links cannot tell: at start-up, which
// remembered processes survived (re-adoption); afterwards, descendants that
// never registered (static, setuid) and unlinked processes that vanished.
import type { Registry } from './model/registry.js';
import type { GroupRecord, ProcRecord } from './model/types.js';
import type { Lifecycle } from './lifecycle/machine.js';
import { FINAL } from './lifecycle/phases.js';
import { callHomeSignal } from './signals.js';
import { decodeWaitStatus, hasInterceptor, readCmdline, readComm, readCwd, readExe, readStat } from './procfs.js';
import { runnerTree, runsRunnerBinary, signalProven } from './proof.js';
import { proveRecord } from './link-up.js';
import { diag } from './diag.js';

/** Interceptor links report almost everything; the scan only catches what cannot load the interceptor. */
export const SCAN_INTERVAL_MS = 5000;

/**
 * Re-adopts what a previous supervisor left: drops the dead and the unproven
 * (a record without a start time is re-found by the scan if it is in a
 * runner's tree), asks the living interceptors to call home, and tells the
 * lifecycle of every program whose runner is gone.
 */
export function adoptSurvivors(registry: Registry, lifecycle: Lifecycle): void {
  const signal = callHomeSignal();
  const runners = lifecycle.runnerPids();
  let kept = 0;
  let asked = 0;
  for (const group of registry.groups.values()) {
    for (const program of group.programs) {
      if (!FINAL.has(program.phase) && !lifecycle.provenRunner(program)) lifecycle.feed(group, program, { kind: 'runner-dead' });
    }
    for (const rec of registry.liveProcessesOf(group)) {
      // A record saved before its start time was read is believed if it is in its proven runner's tree.
      if (rec.startTime === null) rec.startTime = proveRecord(registry, group, rec)?.startTime ?? null;
      const st = readStat(rec.pid);
      if (!st || st.state === 'Z' || rec.startTime === null || st.startTime !== rec.startTime) {
        registry.endProcess(rec, { state: 'lost', status: null, signal: null });
        continue;
      }
      kept++;
      if (rec.preloaded && hasInterceptor(rec.pid) && signalProven({ pid: rec.pid, startTime: rec.startTime }, signal, 'call home', runners)) asked++;
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
export function callHomeSubtree(runnerPid: number, linked: ReadonlySet<number>, runners: ReadonlySet<number>): void {
  const signal = callHomeSignal();
  for (const d of runnerTree(runnerPid)) {
    if (linked.has(d.pid) || d.state === 'Z' || isDurunOwn(d.pid) || !hasInterceptor(d.pid)) continue;
    signalProven({ pid: d.pid, startTime: d.startTime }, signal, 'call home', runners);
  }
}

/** What the scan reports to the process events. */
export interface ScanReports {
  /** Gone with no link and no report: judged like a broken link (an unplanned end). */
  vanished(group: GroupRecord, rec: ProcRecord): void;
  /** Ended, and its parent has not reaped it: that is its end. */
  zombie(group: GroupRecord, rec: ProcRecord, status: number | null, signal: number | null): void;
}

/**
 * One pass of the periodic scan. `linked` is the set of pids with an open
 * interceptor link. Walks each proven runner's subtree once: processes that
 * never registered join their program, and a fork child known only from
 * its parent's report (a message field) is believed only if it is found
 * there.
 */
export function scanOnce(registry: Registry, lifecycle: Lifecycle, linked: ReadonlySet<number>, reports: ScanReports): void {
  for (const group of registry.groups.values()) {
    const trees = new Map<number, Map<number, number>>();
    for (const program of group.programs) {
      if (FINAL.has(program.phase)) continue;
      const runner = lifecycle.provenRunner(program);
      if (!runner) continue;
      const tree = new Map<number, number>();
      for (const d of runnerTree(runner.pid)) if (d.state !== 'Z' && !registry.isInternal(d.pid) && !isDurunOwn(d.pid)) tree.set(d.pid, d.startTime);
      trees.set(program.id, tree);
    }
    for (const rec of registry.liveProcessesOf(group)) {
      const hasLink = linked.has(rec.pid);
      if ((hasLink && rec.startTime !== null) || rec.pendingExec) continue;
      const st = readStat(rec.pid);
      if (hasLink) {
        // Registered without a /proc read (proc-events.ts); its pid is its peer credentials: its start time, to tell pid reuse later.
        if (st) rec.startTime = st.startTime;
        continue;
      }
      if (!st || (rec.startTime !== null && st.startTime !== rec.startTime)) {
        reports.vanished(group, rec);
        continue;
      }
      if (st.state === 'Z') {
        const { status, signal } = st.exitCode !== null ? decodeWaitStatus(st.exitCode) : { status: null, signal: null };
        reports.zombie(group, rec, status, signal);
        continue;
      }
      if (rec.startTime === null) {
        // Known from a parent's `fork` report only: believed once found in its runner's tree.
        const tree = trees.get(rec.program);
        if (!tree) continue; // its runner is re-attaching; the next pass decides
        if (tree.get(rec.pid) !== st.startTime) {
          diag(`${group.name}: pid ${rec.pid} was reported as a fork child but is not in the program's tree; record dropped`);
          registry.endProcess(rec, { state: 'lost', status: null, signal: null });
          continue;
        }
        rec.startTime = st.startTime;
      }
      if (rec.preloaded) refreshUnlinked(registry, rec);
    }
    for (const program of group.programs) {
      for (const [pid, startTime] of trees.get(program.id) ?? []) {
        if (registry.liveProcess(pid)) continue;
        const st = readStat(pid);
        if (st && st.startTime === startTime) registry.addProcess(group, unregistered(pid, st.ppid, startTime, program.id, program.instance));
      }
    }
  }
}

/**
 * durun's own processes in a runner's subtree, never a program's: a
 * checkpoint writer (names itself at once; its hello may be on the way), a
 * supervisor a runner started (also one that lost the lock race), another
 * runner, durun-restore and its namespace's init and parent stand-ins.
 */
export function isDurunOwn(pid: number): boolean {
  const comm = readComm(pid);
  if (comm === 'durun-writer' || comm === 'durun-restore' || comm === 'durun-nsinit' || comm === 'durun-parent') return true;
  if (comm === 'durun') return runsRunnerBinary(pid);
  if (comm !== 'node' && comm !== 'nodejs') return false;
  // Any durun supervisor (this install's or another's): its script is the first non-flag argument.
  const script = readCmdline(pid).find((a, i) => i > 0 && !a.startsWith('-'));
  return script !== undefined && script.endsWith('/dist/supervisor/src/main.js');
}

/**
 * A process without a link of its own (a fork child that has said nothing
 * yet, or a lazy image) whose /proc/PID/exe is not what we know: it ran
 * exec on an image that could not load the interceptor (static, setuid),
 * or it is the lazy image its announce named by another path (a symlink,
 * a PATH search): take exe and argv from /proc. A dynamic image registers
 * itself and its hello wins later.
 */
export function refreshUnlinked(registry: Registry, rec: ProcRecord): void {
  const exe = readExe(rec.pid);
  if (exe === null || exe === rec.exe) return;
  const argv = readCmdline(rec.pid);
  if (rec.preloaded && hasInterceptor(rec.pid) && argv.join('\0') === rec.argv.join('\0')) {
    rec.exe = exe; // the announced image itself
  } else {
    rec.execChain.push({ path: exe, argv, at: Date.now() });
    Object.assign(rec, { exe, argv, execCount: rec.execCount + 1, preloaded: hasInterceptor(rec.pid) });
  }
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
