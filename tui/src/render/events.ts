// The events pane: the supervisor's event stream as it arrives, filtered by
// group and type (`e`), newest at the bottom.
import type { DurunEvent } from '../../../supervisor/src/protocol/events.js';
import { eventShown, type UiState } from '../state.js';
import { layout, tableRow, type Cell, type Column } from './columns.js';
import type { Painter, Tone } from './paint.js';

const COLUMNS: Column[] = [
  { title: 'TIME', width: 8, priority: 1 },
  { title: 'GROUP', width: 10, priority: 2 },
  { title: 'TYPE', width: 16, priority: 0 },
  { title: 'PID', width: 7, priority: 3, right: true },
  { title: 'WHAT', width: 12, priority: 0, flex: true },
];

function tone(e: DurunEvent): Tone | null {
  switch (e.type) {
    case 'fault': case 'group-failed': case 'hook-failed': return 'bad';
    case 'restart': case 'recovery-step': case 'correlated': return 'warn';
    case 'recovered': case 'supervisor-start': return 'good';
    case 'checkpoint': return 'info';
    case 'health': return e.data?.healthy === true ? 'good' : 'bad';
    default: return null;
  }
}

/** What a person reads in the WHAT column: the reason, with a state change spelled out. */
function what(e: DurunEvent): string {
  if (e.type === 'state' && e.data && typeof e.data.from === 'string' && typeof e.data.to === 'string') return `${e.data.from} → ${e.data.to}${e.reason ? `: ${e.reason}` : ''}`;
  return e.reason;
}

/** HH:MM:SS in the node's time zone, as the operator's clock reads. */
function localTime(iso: string): string {
  const d = new Date(iso);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

export function eventFilterText(s: UiState): string {
  const f = s.eventFilter;
  return [...f.groups, ...f.types].join(' ');
}

/** The lines of the pane for `width` x `height`: the newest ones, or from the operator's scroll position. */
export function eventLines(s: UiState, p: Painter, width: number, height: number): string[] {
  const shown = s.events.filter((e) => eventShown(e, s.eventFilter));
  if (!shown.length) return [p.paint(s.events.length ? `no event matches the filter "${eventFilterText(s)}" (e to change it)` : 'no events yet', 'dim')];
  const top = Math.max(0, shown.length - height);
  s.scroll.events = s.eventsFollow ? top : Math.min(s.scroll.events, top);
  const widths = layout(COLUMNS, width);
  return shown.slice(s.scroll.events, s.scroll.events + height).map((e) => {
    const cells: Cell[] = [
      { text: localTime(e.time), tone: 'dim' }, { text: e.group ?? '-' }, { text: e.type, tone: tone(e) },
      { text: e.pid === null ? '' : String(e.pid) }, { text: what(e) },
    ];
    return tableRow(COLUMNS, widths, cells, p);
  });
}

/** How many lines the events pane could scroll through. */
export function eventCount(s: UiState): number {
  return s.events.filter((e) => eventShown(e, s.eventFilter)).length;
}
