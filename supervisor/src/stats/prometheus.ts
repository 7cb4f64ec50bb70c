// The metrics in the Prometheus text exposition format (0.0.4), following its
// naming conventions: counters end in _total and never go down while the
// supervisor runs (they are derived from the whole journal, not a window),
// times in seconds, memory in bytes, one family per name. Window-bound
// figures (uptime ratio, MTBF, MTTR) are gauges. docs/health.md lists them.
import type { GroupStats, StatsReport } from './availability.js';
import type { ProgramUsage } from './program-usage.js';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export interface MetricsInput {
  /** Statistics over the whole journal: the counters. */
  all: StatsReport;
  /** Statistics over the window asked for (the same as `all` without one): the ratio gauges. */
  window: StatsReport;
  /** Groups of the model now, with their state. */
  groups: Array<{ name: string; state: string }>;
  /** Restart events per group over the whole journal. */
  restarts: Map<string, number>;
  programs: ProgramUsage[];
  supervisor: { cpuSeconds: number; rssBytes: number; startTimeSeconds: number };
}

type Sample = [Record<string, string>, number | null];

export function toPrometheus(m: MetricsInput): string {
  const out: string[] = [];
  const family = (name: string, help: string, type: 'gauge' | 'counter', samples: Sample[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      if (value === null) continue;
      const l = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
      out.push(l ? `${name}{${l}} ${value}` : `${name} ${value}`);
    }
  };
  const all = new Map(m.all.groups.map((s) => [s.group, s]));
  const names = [...new Set([...m.groups.map((g) => g.name), ...all.keys()])].sort();
  const per = (f: (s: GroupStats) => number | null, stats: Map<string, GroupStats>): Sample[] =>
    names.map((n) => [{ group: n }, stats.has(n) ? f(stats.get(n)!) : null]);
  const state = new Map(m.groups.map((g) => [g.name, g.state]));
  family('durun_up', 'Whether the group is up: running with every health check passing (1) or not (0).', 'gauge',
    names.filter((n) => state.has(n)).map((n) => [{ group: n }, state.get(n) === 'running' && all.get(n)?.service !== 'down' ? 1 : 0]));
  family('durun_group_restarts_total', 'Restarts by the restart policy, from the journal.', 'counter', names.map((n) => [{ group: n }, m.restarts.get(n) ?? 0]));
  family('durun_group_outages_total', 'Outages (time down: restarting, failed or failing a check), from the journal.', 'counter', per((s) => s.outages, all));
  family('durun_group_state_seconds_total', 'Time spent in each state, from the journal.', 'counter',
    names.flatMap((n) => Object.entries(all.get(n)?.timeInState ?? {}).map(([st, ms]): Sample => [{ group: n, state: st }, ms / 1000])));
  const win = new Map(m.window.groups.map((s) => [s.group, s]));
  family('durun_group_uptime_ratio', 'Time up over time up or down in the window (planned stops excluded).', 'gauge', per((s) => (s.uptimePercent === null ? null : s.uptimePercent / 100), win));
  family('durun_group_mtbf_seconds', 'Mean time between failures in the window.', 'gauge', per((s) => (s.mtbfMs === null ? null : s.mtbfMs / 1000), win));
  family('durun_group_mttr_seconds', 'Mean time to repair in the window.', 'gauge', per((s) => (s.mttrMs === null ? null : s.mttrMs / 1000), win));
  family('durun_group_last_fault_timestamp_seconds', 'When the last fault happened.', 'gauge', per((s) => (s.lastFault ? Date.parse(s.lastFault.time) / 1000 : null), all));
  const prog = (p: ProgramUsage) => ({ group: p.group, program: String(p.program) });
  family('durun_program_cpu_seconds_total', 'CPU time (user and system) used by the program\'s processes.', 'counter', m.programs.map((p) => [prog(p), p.cpuSeconds]));
  family('durun_program_resident_memory_bytes', 'Resident memory of the program\'s live processes.', 'gauge', m.programs.map((p) => [prog(p), p.rssBytes]));
  family('durun_program_processes', 'Live processes of the program.', 'gauge', m.programs.map((p) => [prog(p), p.processes]));
  family('process_cpu_seconds_total', 'CPU time used by the supervisor.', 'counter', [[{}, m.supervisor.cpuSeconds]]);
  family('process_resident_memory_bytes', 'Resident memory of the supervisor.', 'gauge', [[{}, m.supervisor.rssBytes]]);
  family('process_start_time_seconds', 'When the supervisor started (seconds since the epoch).', 'gauge', [[{}, m.supervisor.startTimeSeconds]]);
  return out.join('\n') + '\n';
}
