// The terminal side: blessed boxes laid out for the terminal's size (group
// list on top, the selected group in the middle, events below, a header and
// a status line), redrawn from the state; mouse clicks and wheel turned into
// the same moves as keys.
import blessed from 'blessed';
import { selectedGroup, visibleGroups, type Pane, type UiState } from './state.js';
import { groupLines } from './render/groups.js';
import { detailLines, type DetailLine } from './render/detail.js';
import { eventFilterText, eventLines } from './render/events.js';
import { HELP_LINES, headerLine, statusLine } from './render/chrome.js';
import type { Painter } from './render/paint.js';

export interface Mouse {
  clickGroup(row: number): void;
  focus(pane: Pane): void;
  wheel(pane: Pane, delta: number): void;
}

/** Rows inside a bordered box. */
const inner = (box: blessed.Widgets.BoxElement) => Math.max(0, (box.height as number) - 2);

export class Screen {
  readonly screen: blessed.Widgets.Screen;
  private readonly header: blessed.Widgets.BoxElement;
  private readonly groups: blessed.Widgets.BoxElement;
  private readonly detail: blessed.Widgets.BoxElement;
  private readonly events: blessed.Widgets.BoxElement;
  private readonly status: blessed.Widgets.BoxElement;
  private readonly help: blessed.Widgets.BoxElement;
  /** The detail pane's lines as last drawn (the cursor names a program from them). */
  lastDetail: DetailLine[] = [];
  private destroyed = false;

  constructor(private readonly home: string, private readonly p: Painter, mouse: Mouse) {
    this.screen = blessed.screen({ smartCSR: true, fullUnicode: true, forceUnicode: true, title: 'durun', warnings: false, autoPadding: false });
    const pane = (label: string) => blessed.box({ parent: this.screen, label, border: 'line', tags: true, wrap: false, left: 0, width: '100%' });
    this.header = blessed.box({ parent: this.screen, top: 0, left: 0, width: '100%', height: 1, tags: true, wrap: false });
    this.groups = pane(' groups ');
    this.detail = pane(' details ');
    this.events = pane(' events ');
    this.status = blessed.box({ parent: this.screen, bottom: 0, left: 0, width: '100%', height: 1, wrap: false, style: { inverse: true } });
    this.help = blessed.box({ parent: this.screen, top: 'center', left: 'center', width: Math.max(...HELP_LINES.map((l) => l.length)) + 4, height: HELP_LINES.length + 2, border: 'line', tags: false, hidden: true, content: HELP_LINES.join('\n') });
    // Clicks: a row of the group list selects it (below the border and header row); any pane takes the focus.
    this.groups.on('click', (data: { y: number }) => mouse.clickGroup(data.y - (this.groups.atop as number) - 2));
    this.detail.on('click', () => mouse.focus('detail'));
    this.events.on('click', () => mouse.focus('events'));
    for (const [box, name] of [[this.groups, 'groups'], [this.detail, 'detail'], [this.events, 'events']] as const) {
      box.on('wheeldown', () => mouse.wheel(name, 3));
      box.on('wheelup', () => mouse.wheel(name, -3));
    }
  }

  /** Lines the detail and events panes show at once (for page moves). */
  page(pane: Pane): number {
    return Math.max(1, inner(pane === 'groups' ? this.groups : pane === 'detail' ? this.detail : this.events) - (pane === 'groups' ? 1 : 0));
  }

  draw(s: UiState, now: number): void {
    if (this.destroyed) return;
    const width = this.screen.width as number;
    const height = this.screen.height as number;
    const body = Math.max(6, height - 2);
    const groupRows = Math.min(Math.max(visibleGroups(s).length, 1) + 3, Math.max(4, Math.floor(body * 0.35)));
    const eventRows = Math.max(4, Math.floor(body * 0.28));
    const detailRows = Math.max(3, body - groupRows - eventRows);
    Object.assign(this.groups, { top: 1, height: groupRows });
    Object.assign(this.detail, { top: 1 + groupRows, height: detailRows });
    Object.assign(this.events, { top: 1 + groupRows + detailRows, height: eventRows });
    const w = Math.max(10, width - 2);

    this.header.setContent(headerLine(s, this.p, this.home, width, now));
    this.groups.setContent(groupLines(s, this.p, w, inner(this.groups), now).join('\n'));

    const g = selectedGroup(s);
    this.detail.setLabel(g ? ` ${g.name} ` : ' details ');
    this.lastDetail = detailLines(s, g, this.p, w, now);
    s.detailCursor = Math.min(s.detailCursor, Math.max(0, this.lastDetail.length - 1));
    const rows = inner(this.detail);
    s.scroll.detail = Math.max(0, Math.min(s.scroll.detail, s.detailCursor, this.lastDetail.length - rows));
    if (s.detailCursor >= s.scroll.detail + rows) s.scroll.detail = s.detailCursor - rows + 1;
    this.detail.setContent(this.lastDetail.slice(s.scroll.detail, s.scroll.detail + rows)
      .map((l, i) => (s.focus === 'detail' && i + s.scroll.detail === s.detailCursor ? `{inverse}${l.text}{/inverse}` : l.text)).join('\n'));

    const filter = eventFilterText(s);
    this.events.setLabel(filter ? ` events (filter: ${filter}) ` : ' events ');
    this.events.setContent(eventLines(s, this.p, w, inner(this.events)).join('\n'));

    for (const [box, name] of [[this.groups, 'groups'], [this.detail, 'detail'], [this.events, 'events']] as const) {
      box.style.border = s.focus === name ? { fg: this.p.colour ? 'cyan' : undefined, bold: true } : {};
    }
    this.status.setContent(statusLine(s, width));
    if (s.mode.kind === 'help') this.help.show();
    else this.help.hide();
    this.screen.render();
  }

  /** Gives the terminal back as it was: normal screen, cursor, no mouse reporting, cooked mode. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.screen.destroy();
  }
}
