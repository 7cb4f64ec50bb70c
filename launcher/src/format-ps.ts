// Human-readable `durun ps`: one block per group, processes as a tree.
import type { GroupView, ProcessView } from '../../supervisor/src/protocol/views.js';

function describe(p: ProcessView): string {
  if (p.state === 'exited') return `exited(${p.exitStatus})`;
  if (p.state === 'killed') return `killed(${p.signal})`;
  return p.state;
}

function mem(rss: number | null): string {
  if (rss === null) return '-';
  return rss >= 1 << 20 ? `${(rss / (1 << 20)).toFixed(1)}M` : `${Math.round(rss / 1024)}K`;
}

/** The processes as an indented tree, one line each (shared with the TUI). */
export function processTree(processes: ProcessView[]): string[] {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const roots = processes.filter((p) => !byPid.has(p.ppid) || byPid.get(p.ppid) === p);
  const children = (pid: number) => processes.filter((p) => p.ppid === pid && p.pid !== pid);
  const lines: string[] = [];
  const walk = (p: ProcessView, depth: number) => {
    const cmd = p.argv.length ? p.argv.join(' ') : p.exe;
    lines.push(`  ${String(p.pid).padStart(7)} ${describe(p).padEnd(12)} ${(p.cpu ?? '-').toString().padStart(5)} ${mem(p.rss).padStart(7)}  ${'  '.repeat(depth)}${cmd}${p.preloaded ? '' : ' [untraced]'}`);
    for (const c of children(p.pid)) walk(c, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return lines;
}

/**
 * `width` is the terminal's, when printing to one: like ps(1), lines are cut
 * to fit a screen but never when piped, so scripts see whole command lines.
 */
export function formatPs(groups: GroupView[], showEnded: boolean, width?: number): string {
  if (groups.length === 0) return 'no groups (start one with: durun -- CMD)';
  const out: string[] = [];
  for (const g of groups) {
    out.push(`${g.name}  ${g.state}  restarts=${g.restarts}${g.failedReason ? `  (${g.failedReason})` : ''}`);
    const procs = showEnded ? g.processes : g.processes.filter((p) => p.state === 'running');
    if (procs.length) out.push(`      PID STATE          CPU%     RSS  COMMAND`, ...processTree(procs));
    if (g.history) {
      out.push('  launch history (offset from instance start):');
      for (const h of g.history) out.push(`    +${String(h.offsetMs).padStart(6)} ms  program ${h.program}/${h.instance}  pid ${h.pid} (parent ${h.ppid})  ${h.argv.join(' ')}`);
    }
  }
  return (width ? out.map((line) => line.slice(0, width)) : out).join('\n');
}
