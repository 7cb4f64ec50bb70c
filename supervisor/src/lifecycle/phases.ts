// The life of a program instance: its phases and the events that move it
// (ARCHITECTURE.md, "Instance lifecycle"). The table in table.ts gives every
// phase × event pair a rule, and the compiler checks that none is missing.
import type { ProgramView } from '../protocol/views.js';

export type Phase =
  | 'starting'  // the runner was accepted; its first `started` is not in yet
  | 'running'   // the instance's root lives
  | 'draining'  // the root ended cleanly; its descendants (daemons) carry on
  | 'crashing'  // a crash was seen: the tree is being ended, then the policy decides
  | 'stopping'  // the operator stopped it: the tree is being ended, no restart
  | 'cycling'   // a restart was asked for (operator, recovery): the tree is being ended
  | 'backoff'   // the runner waits out a restart delay; nothing runs
  | 'exited'    // final: ended, the policy wants no restart
  | 'stopped'   // final: stopped by the operator
  | 'failed'    // final: too many restarts, or the recovery ladder gave up
  | 'lost';     // the runner died; what was left of the program is unsupervised or ended

export type LifeEvent =
  | { kind: 'started'; pid: number; instance: number }
  /** The instance's root ended (the runner reaped it); descendants may live on. */
  | { kind: 'root-ended'; pid: number; status: number | null; signal: number | null }
  /** A process of the instance other than its root crashed (crash signal, or a broken link). */
  | { kind: 'member-crashed'; pid: number; instance: number; signal: number | null }
  /** The root has ended and nothing of its tree is left (the runner waits for `restart` or `finish`). */
  | { kind: 'instance-end'; instance: number; status: number | null; signal: number | null }
  | { kind: 'stop'; signal: number; graceMs: number }
  /** End the tree and start anew, not counted against the rate limit. */
  | { kind: 'restart'; signal: number; graceMs: number }
  /** The operator signalled a foreground `durun`: the coming end is planned. */
  | { kind: 'foreground-stop'; signal: number }
  /** Every process of the instance is gone while its runner is away (alive, not connected): a stop is complete. */
  | { kind: 'tree-gone' }
  /** The runner is gone (killed, or not there after a supervisor restart). */
  | { kind: 'runner-dead' }
  /** The recovery ladder gave up on the group. */
  | { kind: 'fail'; reason: string };

export type EventKind = LifeEvent['kind'];
export type EventOf<K extends EventKind> = Extract<LifeEvent, { kind: K }>;

/** Phases after which nothing runs and no runner waits for a word. */
export const FINAL: ReadonlySet<Phase> = new Set(['exited', 'stopped', 'failed', 'lost']);

/** What `durun ps` shows for a phase (the stable ProgramView states). */
export function viewState(phase: Phase): ProgramView['state'] {
  switch (phase) {
    case 'starting': case 'running': case 'draining': case 'stopping': return 'running';
    case 'crashing': case 'cycling': case 'backoff': return 'restarting';
    case 'exited': case 'stopped': case 'failed': case 'lost': return phase;
  }
}

/**
 * How a root's end counts (systemd's convention): a status, or death by
 * SIGHUP, SIGINT, SIGTERM or SIGPIPE, is a clean end; any other signal is a crash.
 */
export function cleanEnd(signal: number | null): boolean {
  return signal === null || signal === 1 || signal === 2 || signal === 13 || signal === 15;
}
