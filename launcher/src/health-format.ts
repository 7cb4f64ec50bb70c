// Every text `durun health`, `events`, `stats` and `advise` print, in one place.
import { DURATION_HINT } from '../../supervisor/src/protocol/duration.js';
import type { DurunEvent } from '../../supervisor/src/protocol/events.js';
import type { CheckVerdict } from '../../supervisor/src/protocol/health-requests.js';
import { human } from '../../view/src/units.js';

export interface GroupStatsView {
  group: string; uptimePercent: number | null; outages: number; mtbfMs: number | null; mttrMs: number | null;
  timeInState: Record<string, number>; lastFault: { time: string; kind: string; reason: string } | null;
}

export function formatVerdict(v: CheckVerdict): string {
  const what = v.healthy ? 'healthy' : v.timedOut ? 'HANG (timed out; its processes were killed)' : `UNHEALTHY (exit status ${v.status})`;
  const out = !v.healthy && v.output ? `: ${v.output.split('\n').at(-1)}` : '';
  return `${v.group}/${v.check}: ${what} in ${v.durationMs} ms${out}`;
}

export function formatEvent(e: DurunEvent): string {
  return `${e.time}  #${e.seq}  ${(e.group ?? '-').padEnd(12)} ${e.type.padEnd(16)} ${e.pid === null ? '-' : e.pid}  ${e.reason}`;
}

export function formatStats(groups: GroupStatsView[], from: string, to: string): string {
  if (groups.length === 0) return `no group events between ${from} and ${to}`;
  const lines = [`availability from ${from} to ${to}`];
  for (const g of groups) {
    lines.push(`${g.group}: uptime ${g.uptimePercent === null ? 'n/a' : `${g.uptimePercent}%`}, ${g.outages} outage(s), MTBF ${human(g.mtbfMs)}, MTTR ${human(g.mttrMs)}`);
    lines.push(`  time per state: ${Object.entries(g.timeInState).map(([s, ms]) => `${s} ${human(ms)}`).join(', ') || 'none'}`);
    if (g.lastFault) lines.push(`  last fault: ${g.lastFault.time} ${g.lastFault.kind}: ${g.lastFault.reason}`);
  }
  return lines.join('\n');
}

export const noSupervisor = (home: string, homeSet: boolean) =>
  `health: no supervisor runs for ${home}${homeSet ? '' : ' (DURUN_HOME is not set: this is the default home)'}; none was started and nothing was checked`;
export const notChecked = (group: string, state: string) => `${group}: not checked (${state})`;
export const noChecks = 'durun health: no group has health checks; add check.NAME.command (or .tcp, .http) to a [group NAME] section of your policy';
export const followLost = 'durun events: the supervisor went away; waiting for the next one (Ctrl-C to stop)';
export const followResumed = 'durun events: following again';
export const badSince = (text: string) => `--since takes an ISO time (2024-05-01T10:00:00Z), a duration ago (30s, 10m, 2h) or ms since the epoch, not "${text}"`;
export const badWindow = (text: string) => `--window takes a duration, not "${text}"; ${DURATION_HINT}`;
