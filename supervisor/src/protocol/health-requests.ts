// Client requests for health, events and availability (issue 5): `durun
// health`, `events`, `stats`, `metrics`, `advise`. messages.ts delegates here.
// `events` with follow:true answers once, then pushes {op:"event", id, event}
// lines on the same connection until it closes; `last` keeps only the newest N
// of the answer (a live view subscribing needs a screenful, not the journal).
// `health` with cached:true runs nothing: it answers each configured check with
// its last result (ChecksAnswer), for a live view.
import { ProtocolError, field } from './messages.js';
import type { DurunEvent } from './events.js';

export type HealthRequest =
  | { op: 'health'; id: number; group?: string; cached?: boolean }
  | { op: 'events'; id: number; group?: string; type?: string; since?: number; follow?: boolean; last?: number }
  | { op: 'stats'; id: number; group?: string; windowMs?: number }
  | { op: 'metrics'; id: number; windowMs?: number }
  | { op: 'advise'; id: number; group: string };

export const HEALTH_OPS: ReadonlySet<string> = new Set(['health', 'events', 'stats', 'metrics', 'advise']);

/** One check's verdict as `durun health --json` prints it. */
export interface CheckVerdict { group: string; check: string; healthy: boolean; status: number | null; timedOut: boolean; durationMs: number; output: string }
/** skipped: groups with checks that were not run, because the group is not running (stopped, exited, not started). */
export interface HealthAnswer { checks: CheckVerdict[]; skipped: Array<{ group: string; state: string }> }
/** A configured check and its last result (null until it first ran); `at` is when that run started. */
export interface CheckStatus { group: string; check: string; last: (CheckVerdict & { at: string }) | null }
export interface ChecksAnswer { checks: CheckStatus[] }
export interface EventsAnswer { events: DurunEvent[] }
export interface EventPush { v: 1; op: 'event'; id: number; event: DurunEvent }
export interface AdviceAnswer { group: string; lines: string[]; notes: string[] }

type Obj = Record<string, unknown>;

export function parseHealthRequest(msg: Obj, id: number): HealthRequest {
  const positive = (key: string) => {
    const n = field<number | undefined>(msg, key, 'number', true);
    if (n !== undefined && !(n > 0)) throw new ProtocolError(`${String(msg.op)}: ${key} must be positive`);
    return n;
  };
  switch (msg.op) {
    case 'health': return { op: 'health', id, group: field(msg, 'group', 'string', true), cached: field(msg, 'cached', 'boolean', true) };
    case 'events': return {
      op: 'events', id, group: field(msg, 'group', 'string', true), type: field(msg, 'type', 'string', true),
      since: field(msg, 'since', 'number', true), follow: field(msg, 'follow', 'boolean', true), last: positive('last'),
    };
    case 'stats': return { op: 'stats', id, group: field(msg, 'group', 'string', true), windowMs: positive('windowMs') };
    case 'metrics': return { op: 'metrics', id, windowMs: positive('windowMs') };
    case 'advise': return { op: 'advise', id, group: field(msg, 'group', 'string') };
    default: throw new ProtocolError(`unknown request "${String(msg.op)}"`);
  }
}
