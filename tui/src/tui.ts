// `durun tui`: groups, process trees and recent events of this node's
// supervisor, refreshed every second; restart and stop from the keyboard.
// Talks to the supervisor only through the protocol client.
import blessed from 'blessed';
import { Client } from '../../supervisor/src/protocol/client.js';
import type { PsView } from '../../supervisor/src/protocol/views.js';
import type { EventsAnswer } from '../../supervisor/src/protocol/health-requests.js';
import { HELP, detailLines, eventLines, groupLines } from './render.js';

const REFRESH_MS = 1000;
const EVENTS_SHOWN = 200;

/** Runs the TUI until the operator quits; resolves with the exit code. */
export async function runTui(home: string): Promise<number> {
  const client = await Client.connect(home);
  const screen = blessed.screen({ smartCSR: true, title: 'durun', fullUnicode: true });
  const groupsBox = blessed.list({
    parent: screen, label: ' groups ', top: 0, left: 0, width: '40%', height: '60%',
    border: 'line', keys: true, vi: true, style: { selected: { inverse: true } },
  });
  const detail = blessed.box({ parent: screen, label: ' processes ', top: 0, left: '40%', width: '60%', height: '60%', border: 'line', scrollable: true });
  const events = blessed.log({ parent: screen, label: ' events ', top: '60%', left: 0, width: '100%', height: '40%-1', border: 'line', scrollback: EVENTS_SHOWN });
  const status = blessed.box({ parent: screen, bottom: 0, left: 0, width: '100%', height: 1, content: HELP, style: { inverse: true } });

  let view: PsView = { groups: [] };
  let lastSeq = -1;
  const selected = () => view.groups[(groupsBox as unknown as { selected: number }).selected ?? 0];
  const say = (msg: string) => {
    status.setContent(` ${msg}   |${HELP}`);
    screen.render();
  };

  const refresh = async () => {
    view = await client.request<PsView>('ps');
    const sel = (groupsBox as unknown as { selected: number }).selected ?? 0;
    groupsBox.setItems(groupLines(view.groups));
    groupsBox.select(Math.min(sel, Math.max(0, view.groups.length - 1)));
    detail.setContent(detailLines(selected()).join('\n'));
    const ev = await client.request<EventsAnswer>('events', {});
    const fresh = ev.events.filter((e) => e.seq > lastSeq).slice(-EVENTS_SHOWN);
    for (const line of eventLines(fresh)) events.log(line);
    if (fresh.length) lastSeq = fresh[fresh.length - 1]!.seq;
    screen.render();
  };

  const act = (op: 'restart' | 'stop') => {
    const g = selected();
    if (!g) return;
    say(`${op} ${g.name}...`);
    client.request(op, { group: g.name }).then(() => say(`${op} ${g.name}: done`), (err: Error) => say(`${op} ${g.name}: ${err.message}`));
  };

  groupsBox.on('select item', () => {
    detail.setContent(detailLines(selected()).join('\n'));
    screen.render();
  });
  screen.key(['r'], () => act('restart'));
  screen.key(['s'], () => act('stop'));
  groupsBox.focus();

  await refresh();
  return new Promise<number>((resolve) => {
    const timer = setInterval(() => refresh().catch((err: Error) => say(`supervisor: ${err.message}`)), REFRESH_MS);
    screen.key(['q', 'C-c'], () => {
      clearInterval(timer);
      screen.destroy();
      client.close();
      resolve(0);
    });
  });
}
