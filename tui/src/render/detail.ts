// The selected group: its programs and restart policy, its process tree,
// its health checks, its checkpoints and the tail of a program's log; or, in
// log mode (`l`), a whole pane of one program's log.
import type { GroupView, ProcessView, ProgramView } from '../../../supervisor/src/protocol/views.js';
import { commandOf, processState, treeRows } from '../../../view/src/process-tree.js';
import { age, human, memory, mib } from '../../../view/src/units.js';
import { runningSince, type UiState } from '../state.js';
import { fit, headerRow, layout, tableRow, type Column } from './columns.js';
import { STATE_TONE, type Painter } from './paint.js';

/** A line of the pane; `program` is what `l` shows the log of when the cursor is on it. */
export interface DetailLine { text: string; program?: number }

/** Log lines shown under the overview (the whole pane in log mode). */
export const LOG_TAIL = 5;
/** Checkpoints listed in the overview, newest first. */
const CHECKPOINTS_SHOWN = 5;

const TREE: Column[] = [
  { title: 'PID', width: 7, priority: 0, right: true },
  { title: 'STATE', width: 10, priority: 1 },
  { title: 'CPU%', width: 5, priority: 2, right: true },
  { title: 'RSS', width: 6, priority: 3, right: true },
  { title: 'EXEC', width: 4, priority: 4, right: true },
  { title: 'COMMAND', width: 12, priority: 0, flex: true },
];
const CHECKS: Column[] = [
  { title: 'CHECK', width: 10, priority: 0, flex: true, max: 32 },
  { title: 'LAST RESULT', width: 16, priority: 0 },
  { title: 'LATENCY', width: 8, priority: 1, right: true },
  { title: 'AGE', width: 7, priority: 2, right: true },
];
const CKPTS: Column[] = [
  { title: 'CHECKPOINT', width: 19, priority: 0, flex: true },
  { title: 'KIND', width: 11, priority: 1 },
  { title: 'SIZE', width: 10, priority: 2, right: true },
  { title: 'STALL', width: 7, priority: 1, right: true },
  { title: 'AGE', width: 7, priority: 0, right: true },
];

const section = (p: Painter, title: string) => ({ text: p.paint(title, 'info') });

function programLines(g: GroupView, p: Painter, width: number): DetailLine[] {
  return g.programs.flatMap((prog: ProgramView) => {
    const exit = prog.lastExit ? (prog.lastExit.signal ? `, last killed by signal ${prog.lastExit.signal}` : `, last exit ${prog.lastExit.status}`) : '';
    const how = `restart ${prog.restart}, instance ${prog.instance}, ${prog.restarts} restart(s)${exit}, ${prog.detached ? 'detached' : 'foreground'}`;
    return [
      { text: `${p.paint(fit(`#${prog.id}`, 4), 'bold')}${p.paint(fit(prog.state, 11), STATE_TONE[prog.state === 'lost' ? 'failed' : prog.state])}${p.paint(fit(how, Math.max(0, width - 15)))}`, program: prog.id },
      { text: p.paint(fit(`    ${prog.argv.join(' ')}`, width), 'dim'), program: prog.id },
    ];
  });
}

/**
 * The running processes as a tree. Each program's runner is the tree's root,
 * so a daemonized descendant (re-parented to the runner, a subreaper) shows
 * under the parent it really has, not as a stray top-level line.
 */
function treeLines(g: GroupView, p: Painter, width: number): DetailLine[] {
  const widths = layout(TREE, width);
  const out: DetailLine[] = [{ text: headerRow(TREE, widths, p) }];
  const running = g.processes.filter((q) => q.state === 'running');
  for (const prog of g.programs) {
    const mine = running.filter((q) => q.program === prog.id);
    if (!mine.length) continue;
    const runner = [{ text: String(prog.runnerPid) }, { text: 'runner', tone: 'dim' as const }, { text: '' }, { text: '' }, { text: '' }, { text: `durun (program ${prog.id})`, tone: 'dim' as const }];
    out.push({ text: tableRow(TREE, widths, runner, p), program: prog.id });
    for (const { process: q, depth } of treeRows(mine)) out.push({ text: processRow(q, depth + 1, prog, widths, p), program: prog.id });
  }
  if (out.length === 1) out.push({ text: p.paint('no running process', 'dim') });
  return out;
}

function processRow(q: ProcessView, depth: number, prog: ProgramView, widths: number[], p: Painter): string {
  const daemonized = q.ppid === prog.runnerPid && q.pid !== prog.rootPid ? ' [daemonized]' : '';
  return tableRow(TREE, widths, [
    { text: String(q.pid) }, { text: processState(q), tone: 'good' }, { text: q.cpu === null ? '-' : q.cpu.toFixed(1) },
    { text: memory(q.rss) }, { text: String(q.execCount) },
    { text: `${'  '.repeat(depth)}${commandOf(q)}${q.preloaded ? '' : ' [untraced]'}${daemonized}` },
  ], p);
}

function checkLines(s: UiState, g: GroupView, p: Painter, width: number, now: number): DetailLine[] {
  const checks = s.checks.filter((c) => c.group === g.name);
  if (!checks.length) return [{ text: p.paint('no health checks (add check.NAME.command, .tcp or .http to the group\'s policy)', 'dim') }];
  const widths = layout(CHECKS, width);
  return [{ text: headerRow(CHECKS, widths, p) }, ...checks.map((c) => {
    const l = c.last;
    const result = !l ? { text: 'not run yet', tone: 'dim' as const }
      : l.healthy ? { text: 'healthy', tone: 'good' as const }
        : { text: l.timedOut ? 'timed out' : `failed (exit ${l.status})`, tone: 'bad' as const };
    return { text: tableRow(CHECKS, widths, [{ text: c.check }, result, { text: l ? `${l.durationMs}ms` : '-' }, { text: age(l?.at, now) }], p) };
  })];
}

function checkpointLines(s: UiState, g: GroupView, p: Painter, width: number, now: number): DetailLine[] {
  const list = s.checkpoints.get(g.name);
  if (!list) return [{ text: p.paint('asking the supervisor...', 'dim') }];
  if (!list.length) return [{ text: p.paint(`none yet (c takes one)`, 'dim') }];
  const widths = layout(CKPTS, width);
  const kind = (k: string[]) => (k.every((x) => x === 'full') ? 'full' : k.every((x) => x === 'incremental') ? 'incremental' : 'mixed');
  return [{ text: headerRow(CKPTS, widths, p) }, ...list.slice(-CHECKPOINTS_SHOWN).reverse().map((c) => ({
    text: tableRow(CKPTS, widths, [{ text: c.id }, { text: kind(c.kinds) }, { text: mib(c.bytes) }, { text: `${c.stallMs}ms` }, { text: age(c.createdAt, now) }], p),
  }))];
}

/** The program whose log the pane shows: the one `l` chose, else the first detached one. */
export function logProgram(s: UiState, g: GroupView): ProgramView | undefined {
  return g.programs.find((q) => q.id === s.logOf) ?? g.programs.find((q) => q.detached) ?? g.programs[0];
}

function logLines(s: UiState, g: GroupView, p: Painter, width: number): DetailLine[] {
  const prog = logProgram(s, g);
  if (!prog) return [];
  if (!prog.detached) return [{ text: p.paint(`program ${prog.id} runs in the foreground: its output goes to the terminal that started it`, 'dim') }];
  if (!s.logLines.length) return [{ text: p.paint(`no output yet (${prog.logPath})`, 'dim') }];
  return s.logLines.map((l) => ({ text: p.paint(fit(l, width)), program: prog.id }));
}

/** All lines of the pane for the selected group (the screen scrolls them). */
export function detailLines(s: UiState, g: GroupView | undefined, p: Painter, width: number, now: number): DetailLine[] {
  if (!g) return [{ text: p.paint(s.link.up ? 'no group selected' : 'supervisor not running', 'dim') }];
  if (s.logOf !== null) {
    const prog = logProgram(s, g);
    return [section(p, `LOG of ${g.name} program ${prog?.id ?? '?'} (l or Esc: back)`), ...logLines(s, g, p, width)];
  }
  const since = runningSince(g);
  const head = `${p.paint(g.name, 'bold')}  ${p.paint(g.state, STATE_TONE[g.state])}  restarts ${g.restarts}${since === null ? '' : `  up ${human(Math.max(0, now - since))}`}`;
  const out: DetailLine[] = [{ text: head }];
  if (g.failedReason) out.push({ text: p.paint(fit(`failed: ${g.failedReason}`, width), 'bad') });
  out.push(section(p, 'PROGRAMS'), ...programLines(g, p, width));
  out.push(section(p, `PROCESSES (${g.processes.filter((q) => q.state === 'running').length} running)`), ...treeLines(g, p, width));
  out.push(section(p, 'HEALTH'), ...checkLines(s, g, p, width, now));
  out.push(section(p, 'CHECKPOINTS'), ...checkpointLines(s, g, p, width, now));
  const prog = logProgram(s, g);
  out.push(section(p, `LOG of program ${prog?.id ?? '-'} (l: whole pane)`), ...logLines(s, g, p, width).slice(-LOG_TAIL));
  return out;
}
