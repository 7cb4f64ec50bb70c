// The group list: one row per group with its state, health, uptime,
// restarts and the age of its last checkpoint. A role/node column joins it
// when the supervisor has a cluster mode to report one; until then it is hidden.
import type { GroupView } from '../../../supervisor/src/protocol/views.js';
import type { CheckStatus } from '../../../supervisor/src/protocol/health-requests.js';
import { age, human } from '../../../view/src/units.js';
import { runningSince, visibleGroups, type UiState } from '../state.js';
import { headerRow, layout, tableRow, type Cell, type Column } from './columns.js';
import { STATE_TONE, type Painter } from './paint.js';

/** Marks the selected row; screen readers of the test suite and people alike look for it. */
export const SELECTED_MARK = '▶';

const COLUMNS: Column[] = [
  { title: ' ', width: 1, priority: 0 },
  { title: 'GROUP', width: 10, priority: 0, flex: true, max: 32 },
  { title: 'STATE', width: 10, priority: 0 },
  { title: 'HEALTH', width: 9, priority: 2 },
  { title: 'UPTIME', width: 7, priority: 1, right: true },
  { title: 'RESTARTS', width: 8, priority: 3, right: true },
  { title: 'LAST CKPT', width: 9, priority: 4, right: true },
  { title: 'PROCS', width: 5, priority: 5, right: true },
];

/** A group's health from its checks' last results: '-' when it has none. */
export function groupHealth(checks: CheckStatus[]): Cell {
  if (!checks.length) return { text: '-' };
  if (checks.some((c) => c.last && !c.last.healthy)) return { text: 'failing', tone: 'bad' };
  if (checks.some((c) => !c.last)) return { text: 'pending', tone: 'dim' };
  return { text: 'healthy', tone: 'good' };
}

function cells(s: UiState, g: GroupView, now: number): Cell[] {
  const since = runningSince(g);
  const ckpts = s.checkpoints.get(g.name);
  return [
    { text: g.name === s.selected ? SELECTED_MARK : ' ' },
    { text: g.name, tone: 'bold' },
    { text: g.state, tone: STATE_TONE[g.state] },
    groupHealth(s.checks.filter((c) => c.group === g.name)),
    { text: since === null ? '-' : human(Math.max(0, now - since)) },
    { text: String(g.restarts), tone: g.restarts ? 'warn' : null },
    { text: age(ckpts?.at(-1)?.createdAt, now) },
    { text: String(g.processes.filter((p) => p.state === 'running').length) },
  ];
}

/** The pane's lines for `width` x `height` (the header row included); also clamps the scroll to the selection. */
export function groupLines(s: UiState, p: Painter, width: number, height: number, now: number): string[] {
  const widths = layout(COLUMNS, width);
  const shown = visibleGroups(s);
  if (!shown.length) {
    const why = !s.link.up ? 'no figures while the supervisor is not running'
      : s.groups.length ? `no group matches "${s.search}" (/ then Enter on an empty search shows all)`
        : 'no groups yet: start one with  durun -- CMD  or  durun up -f POLICY';
    return [headerRow(COLUMNS, widths, p), p.paint(why, 'dim')];
  }
  const rows = Math.max(1, height - 1);
  const at = Math.max(0, shown.findIndex((g) => g.name === s.selected));
  s.scroll.groups = Math.min(at, Math.max(s.scroll.groups, at - rows + 1));
  const lines = shown.slice(s.scroll.groups, s.scroll.groups + rows).map((g) => {
    const line = tableRow(COLUMNS, widths, cells(s, g, now), p);
    return g.name === s.selected && s.focus === 'groups' ? `{inverse}${line}{/inverse}` : line;
  });
  return [headerRow(COLUMNS, widths, p), ...lines];
}
