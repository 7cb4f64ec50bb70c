// The event record: one line of $DURUN_HOME/events.jsonl, one line of
// `durun events --json`, and the JSON an on_event hook reads on stdin.
// A stable format (ARCHITECTURE.md, "Events"); faces filter with eventMatches.

export type EventType =
  | 'supervisor-start'  // a supervisor took over this home
  | 'process-start'     // a process registered (pid set)
  | 'process-end'       // a process ended (status or signal in data)
  | 'state'             // a group's state changed (data.from, data.to)
  | 'restart'           // the restart policy restarts an instance (data.delayMs)
  | 'group-failed'      // a group gave up (reason)
  | 'fault'             // a fault: crash, hang, failed check, failing exits (data.kind, data.blackbox)
  | 'health'            // a check's verdict changed (data.check, data.healthy)
  | 'recovery-step'     // the escalation ladder took a step (data.step, data.attempt)
  | 'recovery-skipped'  // a ladder step is not available (reason says why)
  | 'recovered'         // a recovery held for the window: the ladder is back at its first step
  | 'correlated'        // a fault recorded without escalation (recovery in progress, dependency failed, stale)
  | 'policy-change'     // health/recovery policy of a group changed
  | 'checkpoint'        // a checkpoint was taken (issue 3)
  | 'promoted'          // a standby became the active side of its pair (data.failed: the old active)
  | 'hook-failed'       // an on_event hook failed or timed out
  | 'removed';          // the group left the model (durun rm, or the retention of finished foreground programs)

export const EVENT_TYPES: readonly EventType[] = [
  'supervisor-start', 'process-start', 'process-end', 'state', 'restart', 'group-failed', 'fault', 'health',
  'recovery-step', 'recovery-skipped', 'recovered', 'correlated', 'policy-change', 'checkpoint', 'promoted', 'hook-failed', 'removed',
];

export interface DurunEvent {
  /** Position in the journal, increasing by one per event across supervisor restarts. */
  seq: number;
  /** ISO-8601 with milliseconds. */
  time: string;
  type: EventType;
  group: string | null;
  pid: number | null;
  reason: string;
  data?: Record<string, unknown>;
}

export interface EventFilter { group?: string; type?: string; since?: number }

/** Does an event pass `durun events` filters (type may be a comma list; since is ms since epoch)? */
export function eventMatches(e: DurunEvent, f: EventFilter): boolean {
  if (f.group !== undefined && e.group !== f.group) return false;
  if (f.type !== undefined && !f.type.split(',').includes(e.type)) return false;
  if (f.since !== undefined && Date.parse(e.time) < f.since) return false;
  return true;
}
