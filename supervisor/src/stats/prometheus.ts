// Availability statistics in the Prometheus text exposition format (0.0.4).
import type { StatsReport } from './availability.js';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** One metric family per statistic, one sample per group (and per state for time in state). */
export function toPrometheus(report: StatsReport): string {
  const out: string[] = [];
  const family = (name: string, help: string, type: 'gauge' | 'counter', samples: Array<[Record<string, string>, number | null]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      if (value === null) continue;
      const l = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
      out.push(`${name}{${l}} ${value}`);
    }
  };
  const g = report.groups;
  family('durun_group_uptime_ratio', 'Time up over time up or down (planned stops excluded).', 'gauge', g.map((s) => [{ group: s.group }, s.uptimePercent === null ? null : s.uptimePercent / 100]));
  family('durun_group_outages_total', 'Outages that started in the window.', 'counter', g.map((s) => [{ group: s.group }, s.outages]));
  family('durun_group_mtbf_seconds', 'Mean time between failures.', 'gauge', g.map((s) => [{ group: s.group }, s.mtbfMs === null ? null : s.mtbfMs / 1000]));
  family('durun_group_mttr_seconds', 'Mean time to repair.', 'gauge', g.map((s) => [{ group: s.group }, s.mttrMs === null ? null : s.mttrMs / 1000]));
  family('durun_group_state_seconds_total', 'Time spent in each state.', 'counter',
    g.flatMap((s) => Object.entries(s.timeInState).map(([state, ms]): [Record<string, string>, number] => [{ group: s.group, state }, ms / 1000])));
  family('durun_group_last_fault_timestamp_seconds', 'When the last fault happened.', 'gauge',
    g.map((s) => [{ group: s.group }, s.lastFault ? Date.parse(s.lastFault.time) / 1000 : null]));
  return out.join('\n') + '\n';
}
