// The TUI's panes as text, without a terminal: columns shrink by priority,
// the selection is marked, events merge in journal order and filter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fit, layout, type Column } from '../tui/src/render/columns.js';
import { groupLines } from '../tui/src/render/groups.js';
import { headerLine } from '../tui/src/render/chrome.js';
import { painter } from '../tui/src/render/paint.js';
import { addEvents, eventShown, initialState, visibleGroups } from '../tui/src/state.js';
import type { GroupView } from '../supervisor/src/protocol/views.js';
import type { DurunEvent } from '../supervisor/src/protocol/events.js';

const mono = painter(false);
/** A line as the terminal shows it: without blessed's tags. */
const plain = (line: string) => line.replace(/\{\/?[a-z-]+\}/g, '');

const group = (name: string, state: GroupView['state'], restarts = 0): GroupView => ({ name, state, restarts, failedReason: null, programs: [], processes: [] });
const event = (seq: number, type: DurunEvent['type'], group: string | null): DurunEvent => ({ seq, time: '2026-01-01T00:00:00.000Z', type, group, pid: null, reason: `r${seq}` });

test('columns: the least important go first, the flexible one takes the rest', () => {
  const cols: Column[] = [
    { title: 'A', width: 4, priority: 0 },
    { title: 'NAME', width: 6, priority: 0, flex: true },
    { title: 'B', width: 5, priority: 2 },
    { title: 'C', width: 5, priority: 1 },
  ];
  assert.equal(layout(cols, 30), [4, 13, 5, 5]);
  assert.equal(layout(cols, 17), [4, 6, 0, 5], 'B (priority 2) dropped first');
  assert.equal(layout(cols, 11), [4, 6, 0, 0]);
  assert.is(fit('abcdef', 4), 'abc…');
  assert.is(fit('7', 3, true), '  7');
});

test('group list: marked selection, states in words, every line within the width', () => {
  const s = initialState();
  s.link.up = true;
  s.groups = [group('web', 'failed', 6), group('db', 'running')];
  s.selected = 'web';
  for (const width of [40, 78, 150]) {
    const lines = groupLines(s, mono, width, 10, Date.now());
    assert.is(lines.length, 3);
    assert.ok(lines.every((l) => plain(l).length <= width), `width ${width}`);
    assert.match(plain(lines[1]!), /^ +db +running/);
    assert.match(lines[2]!, /^\{inverse\}▶ \{bold\}web/, "the selected row is marked and inverse");
    assert.match(plain(lines[2]!), /^▶ web +failed/);
  }
  assert.not.match(groupLines(s, mono, 40, 10, Date.now())[0]!, /RESTARTS/, 'restarts column dropped at 40 columns');
  assert.match(groupLines(s, mono, 78, 10, Date.now())[0]!, /RESTARTS/);
  s.sort = 'state';
  assert.equal(visibleGroups(s).map((g) => g.name), ['web', 'db'], 'failed first');
  s.search = 'd';
  assert.equal(visibleGroups(s).map((g) => g.name), ['db']);
});

test('header: in cluster mode, this node and its role for each placed group', () => {
  const s = initialState();
  s.link.up = true;
  s.groups = [group('web', 'running')];
  assert.not.match(plain(headerLine(s, mono, '/h', 200, Date.now())), /node /);
  s.cluster = { name: 'prod', node: 'b', master: 'a', roles: { web: 'secondary' } };
  assert.match(plain(headerLine(s, mono, '/h', 200, Date.now())), /\| node b of prod \(secondary for web\) \|/);
});

test('colour only with a colour painter', () => {
  const s = initialState();
  s.link.up = true;
  s.groups = [group('db', 'running')];
  assert.match(groupLines(s, painter(true), 78, 10, Date.now())[1]!, /\{green-fg\}running/);
  assert.not.match(groupLines(s, mono, 78, 10, Date.now()).join('\n'), /-fg\}/);
});

test('events: merged by sequence whatever the arrival order, kept once, filtered by group and type', () => {
  const s = initialState();
  assert.ok(addEvents(s, [event(5, 'state', 'web')]));
  assert.ok(addEvents(s, [event(3, 'fault', 'web'), event(4, 'restart', 'db'), event(5, 'state', 'web')]));
  assert.not.ok(addEvents(s, [event(4, 'restart', 'db')]));
  assert.equal(s.events.map((e) => e.seq), [3, 4, 5]);
  assert.ok(eventShown(s.events[0]!, { groups: ['web'], types: ['fault'] }));
  assert.not.ok(eventShown(s.events[1]!, { groups: ['web'], types: [] }));
  assert.not.ok(eventShown(s.events[2]!, { groups: [], types: ['fault', 'restart'] }));
});

test.run();
