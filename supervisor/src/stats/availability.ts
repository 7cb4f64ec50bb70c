// Availability statistics per group, computed from the event journal alone
// (pure), so any window of history can be re-read and the numbers re-derived.
//
// A group's service state over time: "up" while running with every check
// passing; "down" while restarting, failed, or running with a failing check
// (an outage); "planned" while stopped or exited (the operator's choice: out
// of the uptime ratio). Before its first event a group is not counted.
import type { DurunEvent } from '../protocol/events.js';

export type ServiceState = 'up' | 'down' | 'planned';

export interface LastFault { time: string; kind: string; reason: string }

export interface GroupStats {
  group: string;
  /** up / (up + down) in percent; null when neither was observed. */
  uptimePercent: number | null;
  outages: number;
  /** Mean time between failures: up time / outages (ms); null without outages. */
  mtbfMs: number | null;
  /** Mean time to repair: down time of ended outages / their number (ms); null when none ended. */
  mttrMs: number | null;
  /** Time in each group state (running, restarting, failed, stopped, exited, unhealthy), ms. */
  timeInState: Record<string, number>;
  upMs: number;
  downMs: number;
  lastFault: LastFault | null;
  /** The service state at the end of the window (null before the group's first event). */
  service: ServiceState | null;
}

export interface StatsReport { from: string; to: string; groups: GroupStats[] }

interface Track {
  state: string | null;
  failing: Set<string>;
  since: number;
  outageStart: number | null;
  s: GroupStats;
  repairedMs: number;
  repaired: number;
}

const serviceOf = (state: string, failing: Set<string>): ServiceState =>
  state === 'running' ? (failing.size ? 'down' : 'up') : state === 'stopped' || state === 'exited' ? 'planned' : 'down';
const labelOf = (state: string, failing: Set<string>) => (state === 'running' && failing.size ? 'unhealthy' : state);

function newTrack(group: string, at: number): Track {
  return {
    state: null, failing: new Set(), since: at, outageStart: null, repairedMs: 0, repaired: 0,
    s: { group, uptimePercent: null, outages: 0, mtbfMs: null, mttrMs: null, timeInState: {}, upMs: 0, downMs: 0, lastFault: null, service: null },
  };
}

/** Accounts the time from t.since to `at` (clipped to the window) to the current state. */
function account(t: Track, at: number, from: number): void {
  const start = Math.max(t.since, from);
  if (t.state !== null && at > start) {
    const ms = at - start;
    const label = labelOf(t.state, t.failing);
    t.s.timeInState[label] = (t.s.timeInState[label] ?? 0) + ms;
    const svc = serviceOf(t.state, t.failing);
    if (svc === 'up') t.s.upMs += ms;
    else if (svc === 'down') t.s.downMs += ms;
  }
  t.since = at;
}

/** Moves a group to a new (state, failing) and counts outages that start or end in the window. */
function transition(t: Track, at: number, from: number, state: string, failing: Set<string>): void {
  account(t, at, from);
  const before = t.state === null ? null : serviceOf(t.state, t.failing);
  const after = serviceOf(state, failing);
  t.state = state;
  t.failing = failing;
  if (after === 'down' && before !== 'down') {
    t.outageStart = at;
    if (at >= from) t.s.outages++;
  } else if (after !== 'down' && before === 'down' && t.outageStart !== null) {
    if (at >= from) {
      t.repairedMs += at - Math.max(t.outageStart, from);
      t.repaired++;
    }
    t.outageStart = null;
  }
}

/**
 * Statistics of every group in [from, to] (ms). Events before `from` set the
 * state a group enters the window with; events after `to` are ignored.
 */
export function availability(events: readonly DurunEvent[], from: number, to: number): StatsReport {
  const tracks = new Map<string, Track>();
  const track = (g: string, at: number) => {
    let t = tracks.get(g);
    if (!t) tracks.set(g, (t = newTrack(g, at)));
    return t;
  };
  for (const e of events) {
    const at = Date.parse(e.time);
    if (e.group === null || at > to) continue;
    const t = track(e.group, at);
    const d = e.data ?? {};
    if (e.type === 'state' && typeof d.to === 'string') {
      // A restart clears nothing: a failing check stays failing until it passes again.
      transition(t, at, from, d.to, t.failing);
    } else if (e.type === 'health' && typeof d.check === 'string') {
      const failing = new Set(t.failing);
      if (d.healthy === false) failing.add(d.check);
      else failing.delete(d.check);
      if (t.state !== null) transition(t, at, from, t.state, failing);
      else t.failing = failing;
    } else if (e.type === 'fault' && at >= from) {
      t.s.lastFault = { time: e.time, kind: typeof d.kind === 'string' ? d.kind : 'fault', reason: e.reason };
    }
  }
  for (const t of tracks.values()) {
    account(t, to, from);
    const s = t.s;
    const seen = s.upMs + s.downMs;
    s.uptimePercent = seen > 0 ? Math.round((s.upMs / seen) * 1e6) / 1e4 : null;
    s.mtbfMs = s.outages > 0 ? Math.round(s.upMs / s.outages) : null;
    s.mttrMs = t.repaired > 0 ? Math.round(t.repairedMs / t.repaired) : null;
    s.service = t.state === null ? null : serviceOf(t.state, t.failing);
  }
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), groups: [...tracks.values()].map((t) => t.s).sort((a, b) => a.group.localeCompare(b.group)) };
}
