// The error correlator: sits between fault reports and the ladder, and turns
// a report into a primary fault (may escalate) or a secondary one (recorded,
// never escalates), so that one failure does not set off several recoveries.
import type { Ladder } from './ladder.js';

export interface FaultReport {
  group: string;
  /** When the failure was observed (a check's start, an exit's time), ms. */
  observedAt: number;
}

export interface GroupView { ladder: Ladder; running: boolean; lastFaultAt: number | null }

export type Verdict = { primary: true } | { primary: false; reason: string };

/**
 * Classifies a report. Secondary when: it was observed before the group's
 * last recovery step started (stale); a recovery of the group is under way;
 * or a group it depends on is failing, recovering, or faulted within `windowMs`.
 */
export function correlate(report: FaultReport, self: GroupView, deps: Map<string, GroupView>, windowMs: number, now: number): Verdict {
  if (self.ladder.lastActionAt !== null && report.observedAt < self.ladder.lastActionAt) {
    return { primary: false, reason: 'stale: observed before the last recovery step started' };
  }
  if (self.ladder.state === 'acting') return { primary: false, reason: `recovery of ${report.group} in progress` };
  if (self.ladder.state === 'failed') return { primary: false, reason: `group ${report.group} has failed; durun restart ${report.group} starts it anew` };
  for (const [name, dep] of deps) {
    if (dep.ladder.state === 'acting' || dep.ladder.state === 'failed' || !dep.running) {
      return { primary: false, reason: `secondary: dependency ${name} is ${dep.ladder.state === 'acting' ? 'recovering' : dep.ladder.state === 'failed' ? 'failed' : 'not running'}` };
    }
    if (dep.lastFaultAt !== null && now - dep.lastFaultAt < windowMs) {
      return { primary: false, reason: `secondary: dependency ${name} faulted ${Math.round((now - dep.lastFaultAt) / 1000)} s ago` };
    }
  }
  return { primary: true };
}
