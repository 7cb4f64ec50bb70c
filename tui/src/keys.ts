// What each key does, by mode: help closes on any key, a confirmation takes
// `y`, a prompt edits its line, and otherwise keys move, act or switch panes.
import { act, type ActionContext } from './actions.js';
import { eventCount, eventFilterText } from './render/events.js';
import { logProgram } from './render/detail.js';
import { EVENT_TYPES } from '../../supervisor/src/protocol/events.js';
import { PANES, SORT_KEYS, moveSelection, selectedGroup, type Pane } from './state.js';

export interface KeyContext extends ActionContext {
  quit(): void;
  page(pane: Pane): number;
  /** Lines of the detail pane as drawn, with the program each names. */
  detailPrograms(): Array<number | undefined>;
}

export interface Key { name?: string; full?: string; ch?: string }

/** Two `g` presses closer than this are `gg`. */
const GG_MS = 1000;

/** Moves within the focused pane; ±Infinity goes to the top or bottom. */
export function move(ctx: KeyContext, pane: Pane, delta: number): void {
  const s = ctx.state;
  if (pane === 'groups') moveSelection(s, delta);
  else if (pane === 'detail') {
    const last = Math.max(0, ctx.detailPrograms().length - 1);
    s.detailCursor = Math.min(last, Math.max(0, delta === Infinity ? last : delta === -Infinity ? 0 : s.detailCursor + delta));
  } else {
    const top = Math.max(0, eventCount(s) - ctx.page('events'));
    s.scroll.events = Math.min(top, Math.max(0, delta === Infinity ? top : delta === -Infinity ? 0 : s.scroll.events + delta));
    s.eventsFollow = s.scroll.events >= top;
  }
}

function applyPrompt(ctx: KeyContext, what: 'search' | 'events', text: string): void {
  const s = ctx.state;
  if (what === 'search') {
    s.search = text.trim();
    s.status = s.search ? `showing groups whose name contains "${s.search}"` : 'showing all groups';
    return;
  }
  const words = text.split(/[\s,]+/).filter(Boolean);
  s.eventFilter = { types: words.filter((w) => (EVENT_TYPES as readonly string[]).includes(w)), groups: words.filter((w) => !(EVENT_TYPES as readonly string[]).includes(w)) };
  s.eventsFollow = true;
  s.status = words.length ? `events of ${s.eventFilter.groups.join(', ') || 'all groups'}, ${s.eventFilter.types.length ? `types ${s.eventFilter.types.join(', ')}` : 'all types'}` : 'showing all events';
}

function toggleLog(ctx: KeyContext): void {
  const s = ctx.state;
  const g = selectedGroup(s);
  if (!g) return;
  if (s.logOf !== null) {
    s.logOf = null;
    s.status = 'back to the group';
    return;
  }
  const underCursor = s.focus === 'detail' ? ctx.detailPrograms()[s.detailCursor] : undefined;
  const prog = g.programs.find((q) => q.id === underCursor) ?? logProgram(s, g);
  if (!prog) return;
  s.logOf = prog.id;
  s.focus = 'detail';
  s.detailCursor = Number.MAX_SAFE_INTEGER; // the newest lines
  s.status = `log of ${g.name} program ${prog.id}${prog.detached ? `: ${prog.logPath}` : ''}`;
}

export function onKey(ctx: KeyContext, key: Key): void {
  const s = ctx.state;
  const m = s.mode;
  const name = key.full ?? key.name ?? key.ch ?? '';
  if (m.kind === 'help') {
    s.mode = { kind: 'normal' };
    return ctx.redraw();
  }
  if (m.kind === 'confirm') {
    s.mode = { kind: 'normal' };
    if (key.ch === 'y' || key.ch === 'Y') m.onYes();
    else s.status = 'cancelled';
    return ctx.redraw();
  }
  if (m.kind === 'prompt') {
    if (name === 'enter') {
      s.mode = { kind: 'normal' };
      applyPrompt(ctx, m.what, m.text);
    } else if (name === 'escape' || name === 'C-c') {
      s.mode = { kind: 'normal' };
      s.status = 'cancelled';
    } else if (name === 'backspace') m.text = m.text.slice(0, -1);
    else if (key.ch && key.ch >= ' ' && key.ch.length === 1) m.text += key.ch;
    return ctx.redraw();
  }
  const pane = s.focus;
  if (name !== 'g') s.lastG = 0;
  switch (name) {
    case 'q': case 'C-c': return ctx.quit();
    case '?': s.mode = { kind: 'help' }; break;
    case 'tab': s.focus = PANES[(PANES.indexOf(pane) + 1) % PANES.length]!; break;
    case 'S-tab': s.focus = PANES[(PANES.indexOf(pane) + PANES.length - 1) % PANES.length]!; break;
    case 'up': case 'k': move(ctx, pane, -1); break;
    case 'down': case 'j': move(ctx, pane, 1); break;
    case 'pageup': move(ctx, pane, -ctx.page(pane)); break;
    case 'pagedown': move(ctx, pane, ctx.page(pane)); break;
    case 'home': move(ctx, pane, -Infinity); break;
    case 'end': case 'S-g': case 'G': move(ctx, pane, Infinity); break;
    case 'g': {
      const now = Date.now();
      if (now - s.lastG < GG_MS) {
        move(ctx, pane, -Infinity);
        s.lastG = 0;
      } else s.lastG = now;
      break;
    }
    case 'enter':
      if (pane === 'groups') s.focus = 'detail';
      else if (pane === 'detail') toggleLog(ctx);
      break;
    case 'escape':
      if (s.logOf !== null) s.logOf = null;
      else s.focus = 'groups';
      s.status = '';
      break;
    case 'l': toggleLog(ctx); break;
    case '/': s.mode = { kind: 'prompt', what: 'search', text: s.search }; break;
    case 'e': s.mode = { kind: 'prompt', what: 'events', text: eventFilterText(s) }; break;
    case 'o':
      s.sort = SORT_KEYS[(SORT_KEYS.indexOf(s.sort) + 1) % SORT_KEYS.length]!;
      s.status = `sorted by ${s.sort}`;
      break;
    case 'r': return act(ctx, 'restart', selectedGroup(s));
    case 's': return act(ctx, 'stop', selectedGroup(s));
    case 'u': return act(ctx, 'start', selectedGroup(s));
    case 'c': return act(ctx, 'checkpoint', selectedGroup(s));
    case 'S-r': case 'R': return act(ctx, 'restore', selectedGroup(s));
    case 'm': return act(ctx, 'migrate', selectedGroup(s));
    default: return;
  }
  ctx.redraw();
}
