// Issue 4, pure part: policy text in, validated policy or exact file:line
// errors out. No processes: strings only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPolicy } from '../supervisor/src/policy/load.js';
import { parseDuration } from '../supervisor/src/protocol/duration.js';
import { splitWords } from '../supervisor/src/policy/words.js';
import { diffPolicies } from '../supervisor/src/policy/diff.js';
import { startOrder, withDependencies, withDependents } from '../supervisor/src/policy/graph.js';
import type { Policy } from '../supervisor/src/policy/types.js';

const F = '/etc/durun/app.ini';
const load = (text: string, file = F) => loadPolicy([{ file, text }]);
const errors = (text: string) => {
  const r = load(text);
  assert.ok(!r.ok, 'expected errors');
  return r.ok ? [] : r.errors.map(String);
};
const policy = (text: string): Policy => {
  const r = load(text);
  if (!r.ok) throw new Error(r.errors.map(String).join('\n'));
  return r.policy;
};

test('durations: a number and a unit (one grammar, docs/operation.md); a bare number needs its unit in a policy', () => {
  assert.is(parseDuration('500ms'), 500);
  assert.is(parseDuration('5s'), 5000);
  assert.is(parseDuration('1.5s'), 1500);
  assert.is(parseDuration('2m'), 120_000);
  assert.is(parseDuration('1h'), 3_600_000);
  assert.is(parseDuration('1d'), 86_400_000);
  assert.is(parseDuration('5 sec'), 5000);
  for (const bad of ['5', '-1s', 's', '5.s', 'soon']) assert.is(parseDuration(bad), null, bad);
});

test('commands split like shell words, without expansion', () => {
  assert.equal(splitWords(`prog -D "/var/lib/my data" 'a b' c\\ d $HOME`), { argv: ['prog', '-D', '/var/lib/my data', 'a b', 'c d', '$HOME'] });
  assert.equal(splitWords('prog "open'), { error: 'has an unterminated double quote' });
});

test('a full group with every key of this issue', () => {
  const p = policy(`; the database
[group db]
command = postgres -D "/var/lib/pg data"
cwd = /var/lib
env.PGPORT = 5432
user = postgres
ready = tcp:5432
start_timeout = 2m
stop_signal = INT
stop_timeout = 500ms
restart = always
backoff = 1s
backoff_max = 1m
max_restarts = 10
restart_window = 5m
autostart = yes
checkpoint.interval = 30s
checkpoint.keep = 5
checkpoint.dir = images
checkpoint.files = data "/var/lib/pg data/wal"
check.alive.command = pg_isready
check.alive.interval = 5s
recovery = restart-process, restart-group

[group web]
init_script = ./web.init
depends = db
ready = delay:1s
stop_command = /usr/bin/webctl drain
`);
  const [db, web] = p.groups;
  assert.equal(db!.command, ['postgres', '-D', '/var/lib/pg data']);
  assert.is(db!.cwd, '/var/lib');
  assert.equal(db!.env, { PGPORT: '5432' });
  assert.is(db!.user, 'postgres');
  assert.equal(db!.ready, { kind: 'tcp', host: '127.0.0.1', port: 5432 });
  assert.is(db!.startTimeoutMs, 120_000);
  assert.is(db!.stopSignal, 2);
  assert.is(db!.stopTimeoutMs, 500);
  assert.is(db!.restart, 'always');
  assert.is(db!.maxRestarts, 10);
  assert.is(db!.autostart, true);
  assert.equal(db!.checkpoint, { intervalMs: 30_000, keep: 5, dir: '/etc/durun/images', files: ['/etc/durun/data', '/var/lib/pg data/wal'] });
  assert.is(db!.health.checks[0]!.name, 'alive');
  assert.equal(db!.health.recovery.steps, ['restart-process', 'restart-group']);
  assert.is(web!.initScript, '/etc/durun/web.init');
  assert.is(web!.cwd, '/etc/durun', 'cwd defaults to the policy file directory');
  assert.equal(web!.depends, ['db']);
  assert.equal(web!.ready, { kind: 'delay', ms: 1000 });
  assert.equal(web!.stopCommand, ['/usr/bin/webctl', 'drain']);
  assert.is(web!.stopSignal, 15);
  assert.is(web!.autostart, false);
});

test('state.destination and standby-of: values, pairs, and what a pair may not be', () => {
  const p = policy('[group a]\ncommand = x\nstate.destination = null\n[group b]\ncommand = x\nstandby-of = a\nstate.destination = disk\n[group c]\ncommand = x\n');
  assert.equal(p.groups.map((g) => g.state), [{ destination: 'null', standbyOf: null }, { destination: 'disk', standbyOf: 'a' }, { destination: null, standbyOf: null }]);
  assert.equal(errors('[group a]\ncommand = x\nstate.destination = cloud\n'), [`${F}:3: state.destination: "cloud" is not one of memory, disk, peer, null`]);
  assert.equal(errors('[group a]\ncommand = x\nstandby-of = a\n'), [`${F}:3: standby-of: [group a] cannot stand by for itself`]);
  assert.equal(errors('[group a]\ncommand = x\n[group b]\ncommand = x\nstandby-of = a\n[group c]\ncommand = x\nstandby-of = b\n'), [
    `${F}:8: standby-of: [group c] stands by for b, which is itself a standby; a pair is one active and one standby`,
  ]);
  assert.equal(errors('[group a]\ncommand = x\n[group b]\ncommand = x\nstandby-of = a\n[group c]\ncommand = x\nstandby-of = a\n'), [
    `${F}:8: standby-of: [group c] stands by for a, which already has the standby b; a pair is one active and one standby`,
  ]);
  // Either side of a pair may use peer (roles swap on promotion); a group in no pair may not.
  policy('[group a]\ncommand = x\nstate.destination = peer\n[group b]\ncommand = x\nstandby-of = a\nstate.destination = peer\n');
  assert.equal(errors('[group a]\ncommand = x\nstate.destination = peer\n'), [
    `${F}:3: state.destination: "peer" sends [group a]'s saves to its standby, and it has none; add a group with standby-of = a, or use memory or disk`,
  ]);
});

test('checkpoint.files: an unclosed quote or an empty value is an error at its line', () => {
  const bad = errors('[group web]\ncommand = x\ncheckpoint.files = "data\n');
  assert.is(bad.length, 1);
  assert.match(bad[0]!, new RegExp(`^${F}:3: checkpoint.files`));
  assert.match(errors('[group web]\ncommand = x\ncheckpoint.files =\n')[0]!, new RegExp(`^${F}:3: `));
});

test('unknown keys are rejected with file:line and a suggestion', () => {
  assert.equal(errors('[group web]\ncommand = x\ncomand = y\nstop_timout = 5s\n'), [
    `${F}:3: unknown key "comand" in [group web] (did you mean "command"?); docs/policy.md lists every key`,
    `${F}:4: unknown key "stop_timout" in [group web] (did you mean "stop_timeout"?); docs/policy.md lists every key`,
  ]);
});

test('bad values name file:line and the key', () => {
  assert.equal(errors('[group a]\ncommand = a\nstart_timeout = 5\nstop_timeout = -2s\nready = tcp:99999\nautostart = maybe\nrestart = sometimes\nstop_signal = SIGNOPE\ncommand2 =\n'), [
    `${F}:3: start_timeout: "5" is not a duration; write a number and a unit, e.g. 500ms, 1.5s, 2m, 1h or 1d`,
    `${F}:4: stop_timeout: "-2s" is not a duration; write a number and a unit, e.g. 500ms, 1.5s, 2m, 1h or 1d`,
    `${F}:5: ready: "tcp:99999" is not a readiness condition; write started, notify, health, tcp:PORT, tcp:HOST:PORT or delay:DURATION`,
    `${F}:6: autostart: "maybe" is not yes/no (or true/false, on/off)`,
    `${F}:7: restart: "sometimes" is not one of on-crash, on-failure, always, never`,
    `${F}:8: stop_signal: "SIGNOPE" is not a signal; write e.g. SIGTERM, TERM or 15`,
    `${F}:9: unknown key "command2" in [group a] (did you mean "command"?); docs/policy.md lists every key`,
  ]);
});

test('health keys are validated by the health module, with file:line', () => {
  const errs = errors('[group a]\ncommand = a\ncheck.up.interval = soon\ncheck.up.command = true\n');
  assert.equal(errs, [`${F}:3: check.up.interval: "soon" is not a duration; write a number and a unit, e.g. 500ms, 1.5s, 2m, 1h or 1d`]);
  assert.equal(errors('[group a]\ncommand = a\nready = health\n'), [
    `${F}:3: ready: "health" needs at least one check in [group a] (check.NAME.command, .tcp or .http)`,
  ]);
});

test('structure: sections, stray keys, duplicates, missing command', () => {
  assert.equal(errors('x = 1\n[web]\n[group bad/name]\n[group a]\ncwd = /\ncwd = /tmp\n[group a]\ncommand = a\n'), [
    `${F}:1: key "x" is outside any section; put it below a [group NAME] line`,
    `${F}:2: [web]: sections are [group NAME] or [supervisor]`,
    `${F}:3: [group bad/name]: a group name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    `${F}:4: [group a] needs "command" or "init_script"`,
    `${F}:6: cwd: already set at line 5; keep one`,
    `${F}:7: [group a] is already defined at ${F}:4; group names are unique across all policy files`,
  ]);
  assert.equal(errors('[group a]\ncommand = a\ninit_script = /etc/init.d/a\n'), [`${F}:3: [group a]: set "command" or "init_script", not both`]);
  assert.equal(errors('[group a]\ncommand = a "b\n'), [`${F}:2: command: the command has an unterminated double quote`]);
});

test('the same group in two files is rejected naming both', () => {
  const r = loadPolicy([{ file: '/p/one.ini', text: '[group a]\ncommand = a\n' }, { file: '/p/two.ini', text: '\n[group a]\ncommand = b\n' }]);
  assert.ok(!r.ok);
  assert.equal(r.ok ? [] : r.errors.map(String), ['/p/two.ini:2: [group a] is already defined at /p/one.ini:1; group names are unique across all policy files']);
});

test('unknown dependencies and cycles are rejected, naming the cycle', () => {
  assert.equal(errors('[group a]\ncommand = a\ndepends = b, x\n[group b]\ncommand = b\n'), [
    `${F}:3: depends: [group a] depends on unknown group "x"; known groups: a, b`,
  ]);
  assert.equal(errors('[group a]\ncommand = a\ndepends = b\n[group b]\ncommand = b\ndepends = c\n[group c]\ncommand = c\ndepends = a\n'), [
    `${F}:3: depends: dependency cycle a -> b -> c -> a; remove one of these dependencies`,
  ]);
  assert.equal(errors('[group a]\ncommand = a\ndepends = a\n'), [`${F}:3: depends: [group a] depends on itself`]);
});

test('dependency sets and order: chain and diamond', () => {
  const p = policy(`[group top]\ncommand = t\ndepends = left right\n[group left]\ncommand = l\ndepends = base\n[group right]\ncommand = r\ndepends = base\n[group base]\ncommand = b\n[group other]\ncommand = o\n`);
  assert.equal(startOrder(p.groups), ['base', 'other', 'left', 'right', 'top']);
  assert.equal([...withDependencies(p.groups, ['left'])].sort(), ['base', 'left']);
  assert.equal([...withDependents(p.groups, ['base'])].sort(), ['base', 'left', 'right', 'top']);
});

test('[supervisor] takes only supervisor-wide keys', () => {
  assert.equal(errors('[supervisor]\nmetrics.listen = 127.0.0.1:9100\ncommand = x\n'), [
    `${F}:3: unknown key "command" in [supervisor]; keys there are metrics.listen, on_event, on_event.timeout`,
  ]);
  assert.equal(policy('[supervisor]\nmetrics.listen = 127.0.0.1:9100\n').supervisor.metricsListen, { host: '127.0.0.1', port: 9100 });
});

test('diff: added, removed, restart on a launch change, live update otherwise', () => {
  const before = policy('[group a]\ncommand = a\n[group b]\ncommand = b\n[group c]\ncommand = c\ncheck.x.command = true\n[group d]\ncommand = d\n');
  const after = policy('[group a]\ncommand = a\n\n[group b]\ncommand = b --new\n[group c]\ncommand = c\ncheck.x.command = true\ncheck.x.interval = 1s\n[group e]\ncommand = e\n');
  assert.equal(diffPolicies(before, after), { added: ['e'], removed: ['d'], restart: ['b'], updated: ['c'] });
});

test.run();
