// The stable JSON shapes of `durun ps --json` (documented in ARCHITECTURE.md).
// Faces (CLI, TUI) read these; the supervisor builds them from its model.
import type { RestartPolicy } from './messages.js';
import type { PolicyStatus } from './group-requests.js';

/** zombie: ended (exitStatus/signal say how), its parent has not reaped it yet. */
export type ProcessState = 'running' | 'zombie' | 'exited' | 'killed' | 'lost' | 'restarting' | 'stopped';
export type GroupState = 'running' | 'restarting' | 'stopped' | 'exited' | 'failed';

export interface ProcessView {
  pid: number; ppid: number; exe: string; argv: string[]; execCount: number;
  state: ProcessState; exitStatus: number | null; signal: number | null;
  startedAt: string; endedAt: string | null; cpu: number | null; rss: number | null;
  program: number; instance: number; preloaded: boolean;
}

export interface ProgramView {
  id: number; argv: string[]; cwd: string; restart: RestartPolicy; detached: boolean;
  runnerPid: number; runnerConnected: boolean; instance: number; rootPid: number | null;
  state: 'running' | 'restarting' | 'stopped' | 'exited' | 'failed' | 'lost';
  restarts: number; lastExit: { status: number | null; signal: number | null } | null; logPath: string;
  /** Restart backoff and rate limit in force (ms), as given by flags or the policy. */
  options: { backoffMs: number; backoffMaxMs: number; maxRestarts: number; restartWindowMs: number };
}

export interface LaunchRecord { pid: number; ppid: number; exe: string; argv: string[]; program: number; instance: number; offsetMs: number; at: string }

export interface GroupView {
  name: string; state: GroupState; restarts: number; failedReason: string | null;
  programs: ProgramView[]; processes: ProcessView[]; history?: LaunchRecord[];
}

/** In cluster mode: this node, and its role for each group placed on it (docs/cluster.md). */
export interface PsCluster { name: string; node: string; master: string | null; roles: Record<string, 'primary' | 'secondary' | 'spare' | 'offline'> }

export interface PsView { groups: GroupView[]; cluster?: PsCluster }

export interface StatusView { pid: number; home: string; startedAt: string; groups: number; version: string; policy?: PolicyStatus }
