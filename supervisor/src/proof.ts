// Every signal the supervisor sends goes through here. A pid is believed
// only when it is proven the program's (ARCHITECTURE.md, "Who may be
// signalled"): it came from peer credentials (an open link), from a walk of
// a proven runner's subtree, or from a record whose start time still
// matches; and it is never pid 1, the supervisor, nor a runner.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { DURUN_BIN } from './detached-runner.js';
import { descendants, readComm, readExe, readStat, type ProcStat } from './procfs.js';
import { diag } from './diag.js';

/** A pid together with the start time (field 22 of /proc/PID/stat) it had when it was proven. */
export interface Proof { pid: number; startTime: number }

/** The runner binary as the kernel names it in /proc/PID/exe (npm may reach it through a symlink). */
let runnerExe: string | null = null;
export function durunRunnerExe(): string {
  runnerExe ??= realpathSync(DURUN_BIN);
  return runnerExe;
}

/** Verdicts of sameBuild by executable identity (path, device, inode, size, mtime): a binary is read once. */
const sameBuildSeen = new Map<string, boolean>();

/**
 * A runner of another installation of the same build: `make install`'s copy
 * beside the checkout it came from (docs/operation.md), both used with one
 * DURUN_HOME. The same bytes as our runner are our runner.
 */
function sameBuild(pid: number): boolean {
  try {
    const st = statSync(`/proc/${pid}/exe`);
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    let same = sameBuildSeen.get(key);
    if (same === undefined) {
      same = st.size === statSync(durunRunnerExe()).size && readFileSync(`/proc/${pid}/exe`).equals(readFileSync(durunRunnerExe()));
      sameBuildSeen.set(key, same);
    }
    return same;
  } catch (err) {
    diag(`cannot compare the executable of pid ${pid} with durun's runner: ${(err as Error).message}`);
    return false;
  }
}

/** True when pid runs durun's runner: this install's binary, or a byte-identical copy (another install of the same build). */
export function runsRunnerBinary(pid: number): boolean {
  return readExe(pid) === durunRunnerExe() || sameBuild(pid);
}

/**
 * The subtree of a runner as the runner itself sees it (launcher/c/tree.c):
 * another durun runner in a session of its own is left out, with whatever it
 * runs. A detached runner whose starter exited re-parents to the nearest
 * subreaper, which is this runner when this runner started the supervisor
 * that started the other one: a program of its own, never this program's.
 */
export function runnerTree(runnerPid: number): ProcStat[] {
  const session = readStat(runnerPid)?.session;
  return descendants(runnerPid, (st) => st.session !== session && readComm(st.pid) === 'durun' && runsRunnerBinary(st.pid));
}

/** Pids never to be signalled; runners of every program are added per call (a runner may be our parent: it started us). */
function forbidden(pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 1) return `pid ${pid} is not a program's process`;
  if (pid === process.pid) return 'it is the supervisor itself';
  return null;
}

/**
 * Proves that pid is a durun runner now: alive, running durun's own runner
 * binary. The answer carries the start time to check later uses against
 * (a pid from state.json or a message field proves nothing by itself).
 */
export function proveRunner(pid: number): Proof | string {
  const bad = forbidden(pid);
  if (bad) return bad;
  const st = readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return `pid ${pid} is not running`;
  if (!runsRunnerBinary(pid)) return `pid ${pid} runs ${readExe(pid) ?? 'an unreadable executable'}, not durun's runner ${durunRunnerExe()} (nor a copy of it)`;
  return { pid, startTime: st.startTime };
}

/** True when proof still holds: the same process (start time) is alive and not a zombie. */
export function stillHolds(proof: Proof): boolean {
  const st = readStat(proof.pid);
  return st !== null && st.startTime === proof.startTime && st.state !== 'Z' && st.state !== 'X';
}

/**
 * Sends sig to a proven process. `runners` are pids that must never be hit
 * (a program's runner is its parent, not the program). Returns whether the
 * signal was sent; a refusal is logged with its reason.
 */
export function signalProven(proof: Proof, sig: number | NodeJS.Signals, why: string, runners: ReadonlySet<number> = new Set()): boolean {
  const bad = forbidden(proof.pid) ?? (runners.has(proof.pid) ? 'it is a runner' : null);
  if (bad) {
    diag(`refused to signal ${proof.pid} (${why}): ${bad}`);
    return false;
  }
  if (!stillHolds(proof)) return false; // gone or reused: nothing of ours to signal
  try {
    process.kill(proof.pid, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') diag(`cannot signal ${proof.pid} (${why}): ${(err as Error).message}`);
    return false;
  }
}

/**
 * Proves that pid descends from the proven ancestor (a runner) by walking
 * its parent chain in /proc: how a pid taken from a message field (a fork
 * report) becomes believable.
 */
export function proveDescendant(pid: number, ancestor: Proof): Proof | null {
  if (forbidden(pid) || !stillHolds(ancestor)) return null;
  const first = readStat(pid);
  if (!first || first.state === 'Z') return null;
  let at = first;
  for (let depth = 0; depth < 256; depth++) {
    if (at.ppid === ancestor.pid) return { pid, startTime: first.startTime };
    if (at.ppid <= 1) return null;
    const up = readStat(at.ppid);
    if (!up) return null;
    at = up;
  }
  return null;
}
