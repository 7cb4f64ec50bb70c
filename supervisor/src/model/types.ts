// The supervisor's process model: plain serializable records, persisted to
// state.json so that a new supervisor can re-adopt everything.
import type { RestartPolicy } from '../protocol/messages.js';
import type { GroupState, ProcessState, ProgramView } from '../protocol/views.js';
import type { Phase } from '../lifecycle/phases.js';

export interface ExecStep { path: string; argv: string[]; at: number }

export interface ProcRecord {
  pid: number;
  ppid: number;
  exe: string;
  argv: string[];
  cwd: string;
  execCount: number;
  state: ProcessState;
  exitStatus: number | null;
  signal: number | null;
  startedAt: number;
  endedAt: number | null;
  program: number;
  instance: number;
  preloaded: boolean;
  /** Field 22 of /proc/PID/stat, to tell a re-used pid from ours. */
  startTime: number | null;
  execChain: ExecStep[];
  /** Set between an `exec` message and the new image's hello (or timeout). */
  pendingExec: { path: string; argv: string[]; at: number } | null;
  /** The planned exit status announced by the interceptor. */
  plannedExit: number | null;
}

export interface RestartOptions {
  backoffMs: number;
  backoffMaxMs: number;
  maxRestarts: number;
  restartWindowMs: number;
}

export interface ProgramRecord {
  id: number;
  argv: string[];
  cwd: string;
  restart: RestartPolicy;
  options: RestartOptions;
  detached: boolean;
  tty: boolean;
  /** From the runner's peer credentials, never from a message field. */
  runnerPid: number;
  /** The runner's start time when it said hello: a runnerPid from state.json is believed only if it still matches. */
  runnerStartTime: number | null;
  instance: number;
  rootPid: number | null;
  /** Where the instance is in its life (lifecycle/table.ts decides every move). */
  phase: Phase;
  /** What `ps` shows, derived from phase. */
  state: ProgramView['state'];
  instanceStartedAt: number | null;
  restarts: number;
  restartTimes: number[];
  consecutiveRestarts: number;
  lastExit: { status: number | null; signal: number | null } | null;
  logPath: string;
}

export interface LaunchEntry { pid: number; ppid: number; exe: string; argv: string[]; program: number; instance: number; at: number; offsetMs: number }

export interface GroupRecord {
  name: string;
  state: GroupState;
  restarts: number;
  failedReason: string | null;
  nextProgramId: number;
  programs: ProgramRecord[];
  processes: ProcRecord[];
  history: LaunchEntry[];
}

/** state.json; logSeq: the last state.log entry the snapshot includes (model/state-log.ts). */
export interface PersistedState { version: 1; logSeq?: number; groups: GroupRecord[] }
