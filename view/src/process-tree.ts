// A group's processes as a tree (each under the parent it has now), the way
// both faces draw it: `durun ps` as text lines, the TUI as columns.
import type { ProcessView } from '../../supervisor/src/protocol/views.js';

export interface TreeRow { process: ProcessView; depth: number }

/** Depth-first, parents before children; a process whose parent is not listed is a root. */
export function treeRows(processes: ProcessView[]): TreeRow[] {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const children = new Map<number, ProcessView[]>();
  const roots: ProcessView[] = [];
  for (const p of processes) {
    if (!byPid.has(p.ppid) || p.ppid === p.pid) roots.push(p);
    else children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  }
  const rows: TreeRow[] = [];
  const walk = (p: ProcessView, depth: number) => {
    rows.push({ process: p, depth });
    for (const c of children.get(p.pid) ?? []) walk(c, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return rows;
}

/** running, exited(STATUS), killed(SIGNAL), lost... */
export function processState(p: ProcessView): string {
  if (p.state === 'exited') return `exited(${p.exitStatus})`;
  if (p.state === 'killed') return `killed(${p.signal})`;
  return p.state;
}

/** The command line, or the executable of a process that has not exec'd. */
export function commandOf(p: ProcessView): string {
  return p.argv.length ? p.argv.join(' ') : p.exe;
}
