// Human-readable `durun ps`: one block per group, processes as a tree.
import type { GroupView, ProcessView, PsView } from '../../supervisor/src/protocol/views.js';
import { commandOf, processState, treeRows } from '../../view/src/process-tree.js';
import { memory } from '../../view/src/units.js';

function processTree(processes: ProcessView[]): string[] {
  return treeRows(processes).map(({ process: p, depth }) =>
    `  ${String(p.pid).padStart(7)} ${processState(p).padEnd(12)} ${(p.cpu ?? '-').toString().padStart(5)} ${memory(p.rss).padStart(7)}  ${'  '.repeat(depth)}${commandOf(p)}${p.preloaded ? '' : ' [untraced]'}`);
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

/** In cluster mode, a closing line: which node this is and its role for each group placed on it; else nothing. */
export function clusterLine(view: PsView): string {
  const c = view.cluster;
  if (!c) return '';
  const roles = Object.entries(c.roles).map(([g, r]) => `${r} for ${g}`);
  return `\nnode ${c.node} of cluster ${c.name} (master ${c.master ?? 'none'})${roles.length ? `: ${roles.join(', ')}` : ''}; durun cluster shows every node`;
}
