// The header line (whose supervisor, how many groups, what filters apply),
// the status line (what the last action did, or what a key waits for) and
// the help text of `?`.
import type { UiState } from '../state.js';
import { visibleGroups } from '../state.js';
import { human } from '../../../view/src/units.js';
import { fit } from './columns.js';
import type { Painter } from './paint.js';
import { eventFilterText } from './events.js';

export const NOT_RUNNING = 'supervisor not running';

export function headerLine(s: UiState, p: Painter, home: string, width: number, now: number): string {
  if (!s.link.up) {
    const msg = `${NOT_RUNNING} (${home}): waiting for it to come back; durun ps or durun daemon starts one`;
    return p.paint(fit(` ${msg}`, width), 'bad');
  }
  const procs = s.groups.reduce((n, g) => n + g.processes.filter((q) => q.state === 'running').length, 0);
  const up = s.link.startedAt ? `, up ${human(Math.max(0, now - Date.parse(s.link.startedAt)))}` : '';
  const parts = [
    `durun: supervisor ${s.link.pid}${up}`,
    `${s.groups.length} group(s), ${procs} process(es)`,
    ...(s.cluster ? [`node ${s.cluster.node} of ${s.cluster.name}${Object.keys(s.cluster.roles).length ? ` (${Object.entries(s.cluster.roles).map(([g, r]) => `${r} for ${g}`).join(', ')})` : ''}`] : []),
    `sort ${s.sort}`,
    ...(s.search ? [`search "${s.search}" (${visibleGroups(s).length} shown)`] : []),
    ...(eventFilterText(s) ? [`events: ${eventFilterText(s)}`] : []),
  ];
  return p.paint(fit(` ${parts.join(' | ')}`, width), 'bold');
}

const HINTS = '? help  q quit  r restart  s stop  u start  c checkpoint  R restore  l logs  / search  e events';

export function statusLine(s: UiState, width: number): string {
  const m = s.mode;
  const text = m.kind === 'confirm' ? `${m.question} (y: yes, any other key: no)`
    : m.kind === 'prompt' ? (m.what === 'search' ? `search groups: ${m.text}_  (Enter: apply, Esc: cancel)` : `events of groups/types (e.g. web fault): ${m.text}_  (Enter, Esc)`)
      : s.status || HINTS;
  return fit(` ${text}`, width);
}

export const HELP_LINES = [
  'durun tui: keys',
  '',
  '  Up Down j k  move in the focused pane     PgUp PgDn  a page',
  '  g g   G      top, bottom                  Tab        next pane',
  '  Enter        focus the group details      mouse      click, wheel',
  '',
  '  r  restart the selected group (y confirms)',
  '  s  stop it (y confirms)                   u  start it again',
  '  c  take a checkpoint                      R  restore the last one (y)',
  '  m  migrate (not available: no cluster mode yet)',
  '  l  log of the program under the cursor (again: back)',
  '  /  search groups by name                  o  sort: name, state, ...',
  '  e  filter events by group and type, e.g.  web fault restart',
  '  ?  this help                              q  quit',
  '',
  'Figures refresh once a second; events arrive as they happen.',
  'Any key closes this help.',
];
