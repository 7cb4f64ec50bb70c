// Everything the screen shows, in one plain object: what the supervisor said
// last, and what the operator chose (selection, focus, filters, modes).
// Pure functions here decide what is visible; nothing touches the terminal.
import type { GroupView, PsCluster } from '../../supervisor/src/protocol/views.js';
import type { CheckStatus } from '../../supervisor/src/protocol/health-requests.js';
import type { CheckpointView } from '../../supervisor/src/protocol/checkpoint-requests.js';
import type { DurunEvent } from '../../supervisor/src/protocol/events.js';

export type Pane = 'groups' | 'detail' | 'events';
export const PANES: readonly Pane[] = ['groups', 'detail', 'events'];

export type SortKey = 'name' | 'state' | 'restarts' | 'uptime';
export const SORT_KEYS: readonly SortKey[] = ['name', 'state', 'restarts', 'uptime'];

export type Mode =
  | { kind: 'normal' }
  | { kind: 'help' }
  | { kind: 'prompt'; what: 'search' | 'events'; text: string }
  | { kind: 'confirm'; question: string; onYes: () => void };

export interface Connection {
  up: boolean;
  /** The supervisor's pid and start time while connected. */
  pid: number | null;
  startedAt: string | null;
  /** Why the last attempt failed, while down. */
  error: string | null;
}

export interface EventFilter { groups: string[]; types: string[] }

/** Events kept for the events pane (the journal itself stays with the supervisor). */
export const EVENTS_KEPT = 1000;

export interface UiState {
  link: Connection;
  groups: GroupView[];
  checks: CheckStatus[];
  /** Cluster mode: this node and its role for each placed group (from ps). */
  cluster: PsCluster | null;
  /** Committed checkpoints per group, oldest first, fetched when a group appears or checkpoints. */
  checkpoints: Map<string, CheckpointView[]>;
  events: DurunEvent[];
  selected: string | null;
  focus: Pane;
  search: string;
  eventFilter: EventFilter;
  sort: SortKey;
  /** The detail pane shows the group, or the log of one of its programs. */
  logOf: number | null;
  /** First line shown, per pane; events follow the newest line while `eventsFollow`. */
  scroll: Record<Pane, number>;
  /** The detail pane's cursor line (it names a program for `l`). */
  detailCursor: number;
  eventsFollow: boolean;
  /** When `g` was pressed last (a second one soon after is `gg`); 0 when the last key was another. */
  lastG: number;
  mode: Mode;
  status: string;
  logLines: string[];
}

export function initialState(): UiState {
  return {
    link: { up: false, pid: null, startedAt: null, error: null },
    groups: [], checks: [], cluster: null, checkpoints: new Map(), events: [],
    selected: null, focus: 'groups', search: '', eventFilter: { groups: [], types: [] }, sort: 'name',
    logOf: null, scroll: { groups: 0, detail: 0, events: 0 }, detailCursor: 0, eventsFollow: true, lastG: 0,
    mode: { kind: 'normal' }, status: '', logLines: [],
  };
}

const STATE_ORDER: Record<GroupView['state'], number> = { failed: 0, restarting: 1, running: 2, exited: 3, stopped: 4 };

/** When the group's newest instance started (its programs' root processes), or null when none runs. */
export function runningSince(g: GroupView): number | null {
  const roots = g.programs.map((p) => g.processes.find((q) => q.pid === p.rootPid && q.state === 'running')).filter((q) => q !== undefined);
  return roots.length ? Math.min(...roots.map((q) => Date.parse(q.startedAt))) : null;
}

/** The groups the list shows: matching the search, in the chosen order. */
export function visibleGroups(s: UiState): GroupView[] {
  const needle = s.search.toLowerCase();
  const shown = s.groups.filter((g) => g.name.toLowerCase().includes(needle));
  const byName = (a: GroupView, b: GroupView) => a.name.localeCompare(b.name);
  const order: Record<SortKey, (a: GroupView, b: GroupView) => number> = {
    name: byName,
    state: (a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || byName(a, b),
    restarts: (a, b) => b.restarts - a.restarts || byName(a, b),
    uptime: (a, b) => (runningSince(a) ?? Infinity) - (runningSince(b) ?? Infinity) || byName(a, b),
  };
  return shown.sort(order[s.sort]);
}

export function selectedGroup(s: UiState): GroupView | undefined {
  const shown = visibleGroups(s);
  return shown.find((g) => g.name === s.selected) ?? shown[0];
}

/**
 * Keeps the selection on a shown group (the first one when the selected one
 * went away). With nothing shown (the supervisor away, a search matching
 * nothing) the choice is kept for when the groups come back.
 */
export function settleSelection(s: UiState): void {
  const g = selectedGroup(s);
  if (!g) return;
  if (s.selected !== g.name) {
    s.selected = g.name;
    s.logOf = null;
    s.detailCursor = 0;
    s.scroll.detail = 0;
  }
}

/** Moves the selection by `delta` rows (clamped); `Infinity`/-`Infinity` go to the end/top. */
export function moveSelection(s: UiState, delta: number): void {
  const shown = visibleGroups(s);
  if (!shown.length) return;
  const at = Math.max(0, shown.findIndex((g) => g.name === s.selected));
  const to = Math.min(shown.length - 1, Math.max(0, delta === Infinity ? shown.length - 1 : delta === -Infinity ? 0 : at + delta));
  if (shown[to]!.name !== s.selected) {
    s.selected = shown[to]!.name;
    s.logOf = null;
    s.detailCursor = 0;
    s.scroll.detail = 0;
  }
}

export function eventShown(e: DurunEvent, f: EventFilter): boolean {
  if (f.groups.length && !f.groups.includes(e.group ?? '')) return false;
  if (f.types.length && !f.types.includes(e.type)) return false;
  return true;
}

/**
 * Adds the events not seen yet, in journal order (sequence numbers grow across
 * supervisor restarts; a push may arrive before the answer it follows), keeping
 * the newest EVENTS_KEPT. Says whether anything was new.
 */
export function addEvents(s: UiState, fresh: DurunEvent[]): boolean {
  const seen = new Set(s.events.map((e) => e.seq));
  const news = fresh.filter((e) => !seen.has(e.seq));
  if (!news.length) return false;
  s.events = [...s.events, ...news].sort((a, b) => a.seq - b.seq).slice(-EVENTS_KEPT);
  return true;
}
