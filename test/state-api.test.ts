// Issue 12, the checkpoint API: programs in C (libdurun-state), Node
// (durun/state) and shell (`durun ckpt`) save and load through the
// supervisor, which finds their group from their process and stores by the
// policy's state.destination. Timestamp ordering, null drops, disk survives
// a supervisor restart, a destination switched by a policy reload while the
// program runs, and an active/standby pair: kill the active, the standby is
// promoted and continues from the last saved value.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './helpers/paths.js';
import { removeTree, tempHome } from './helpers/home.js';
import { durunSync, policyUp, shutdownAll } from './helpers/durun.js';
import { waitFor, isAlive } from './helpers/wait.js';
import { killAll, type As } from './helpers/checkpoint.js';

const FIX = path.join(ROOT, 'test', 'fixtures', 'state');
const BUILD = path.join(ROOT, 'build');
const CLIENT = path.join(ROOT, 'dist', 'supervisor', 'src', 'protocol', 'state-client.js');
const home = tempHome('durun-sta-');
const as: As = { env: home.env, home: home.dir, wrap: (c) => c };
const work = mkdtempSync(path.join(os.tmpdir(), 'durun-staw-'));
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
  removeTree(work);
});

const C_COUNTER = path.join(work, 'counter');
execFileSync('gcc', ['-O2', '-Wall', '-Werror', '-I', path.join(ROOT, 'preload', 'api'), '-o', C_COUNTER, path.join(FIX, 'counter.c'), `-L${BUILD}`, '-ldurun-state', `-Wl,-rpath,${BUILD}`]);

const numbers = (file: string): number[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : []);
const last = (file: string) => numbers(file).pop() ?? 0;
const up = (name: string, text: string) => policyUp(home.env, work, name, text);

test('C, active/standby: kill the active, the standby is promoted without a restart and continues from the last saved value', async () => {
  const outA = path.join(work, 'a.out');
  const outB = path.join(work, 'b.out');
  up('pair', `[group pa]\ncommand = ${C_COUNTER} ${outA} 10\nrestart = never\n\n[group pb]\ncommand = ${C_COUNTER} ${outB} 10\nstandby-of = pa\nrestart = never\n`);
  await waitFor('the active counts', () => last(outA) >= 30, 10_000);
  assert.is(numbers(outB).length, 0, 'the standby does not count');
  const standbyPid = (JSON.parse(durunSync(home.env, ['ps', '--json', 'pb']).stdout) as { groups: Array<{ processes: Array<{ pid: number; state: string }> }> }).groups[0]!.processes.find((p) => p.state === 'running')!.pid;
  await killAll(as, 'pa');
  const saved = last(outA);
  await waitFor('the standby counts', () => numbers(outB).length >= 10, 10_000);
  const b = numbers(outB);
  // The active may have died between a save and writing its line: one past.
  assert.ok(b[0] === saved + 1 || b[0] === saved + 2, `the standby started at ${b[0]}, the active had saved ${saved}`);
  assert.equal(b, b.map((_, i) => b[0]! + i), 'then counts on');
  assert.ok(isAlive(standbyPid), 'promoted in place: the same process');
  const events = durunSync(home.env, ['events', '--json', '--type', 'promoted']).stdout;
  assert.match(events, /"group":"pb"/);
  await killAll(as, 'pb');
});

test('an active that is already down when its standby starts: the standby takes over at once', async () => {
  const out = path.join(work, 'late.out');
  const file = path.join(work, 'late.ini');
  writeFileSync(file, `[group la]\ncommand = /bin/sleep 0.2\nrestart = never\n\n[group lb]\ncommand = ${C_COUNTER} ${out} 10\nstandby-of = la\nrestart = never\n`);
  assert.is(durunSync(home.env, ['up', '-f', file, 'la']).code, 0);
  await waitFor('the active ended', () => JSON.parse(durunSync(home.env, ['ps', '--json', 'la']).stdout).groups[0]?.state === 'exited', 10_000);
  const r = durunSync(home.env, ['up', 'lb']);
  assert.is(r.code, 0, r.stderr);
  await waitFor('the standby counts', () => last(out) >= 5, 10_000);
  assert.is(numbers(out)[0], 1, 'nothing was saved: it starts from the beginning');
  assert.match(durunSync(home.env, ['events', '--json', '--type', 'promoted']).stdout, /"group":"lb"/);
  await killAll(as, 'lb');
});

test('Node, active/standby: the standby waits in waitRole, then takes over from the last saved value', async () => {
  const outA = path.join(work, 'na.out');
  const outB = path.join(work, 'nb.out');
  const cmd = (out: string) => `/usr/bin/node ${path.join(FIX, 'counter.mjs')} ${CLIENT} ${out} 10`;
  up('npair', `[group na]\ncommand = ${cmd(outA)}\nrestart = never\n\n[group nb]\ncommand = ${cmd(outB)}\nstandby-of = na\nrestart = never\n`);
  await waitFor('the active counts', () => last(outA) >= 20, 10_000);
  assert.is(numbers(outB).length, 0, 'the standby waits');
  await killAll(as, 'na');
  const saved = last(outA);
  await waitFor('the standby counts', () => numbers(outB).length >= 5, 10_000);
  const first = numbers(outB)[0]!;
  assert.ok(first === saved + 1 || first === saved + 2, `the standby started at ${first}, the active had saved ${saved}`);
  await killAll(as, 'nb');
});

test('Node, destination switched by a policy reload while the program runs: memory, then disk', async () => {
  const out = path.join(work, 'n.out');
  const policy = (dest: string) => `[group nd]\ncommand = /usr/bin/node ${path.join(FIX, 'counter.mjs')} ${CLIENT} ${out} 10\nrestart = never\nstate.destination = ${dest}\n`;
  up('node', policy('memory'));
  await waitFor('the Node counter counts', () => last(out) >= 10, 10_000);
  const diskDir = path.join(home.dir, 'state', 'nd');
  assert.not.ok(existsSync(diskDir), 'memory: nothing on disk');
  writeFileSync(path.join(work, 'node.ini'), policy('disk'));
  const r = durunSync(home.env, ['reload']);
  assert.is(r.code, 0, r.stderr);
  const before = last(out);
  await waitFor('saves on disk', () => existsSync(diskDir) && readdirSync(diskDir).some((n) => /^[0-9a-f]{64}$/.test(n)), 10_000);
  await waitFor('counting on', () => last(out) >= before + 10, 10_000);
  const file = readdirSync(diskDir).find((n) => /^[0-9a-f]{64}$/.test(n))!;
  const st = readFileSync(path.join(diskDir, file));
  assert.ok(st.subarray(0, 9).toString() === 'DURUNST1\n', 'a state file');
  const numbersSeen = numbers(out);
  assert.equal(numbersSeen, numbersSeen.map((_, i) => i + 1), 'one count, no restart');
  await killAll(as, 'nd');
});

test('shell: put/get/rm/ls/role; a later timestamp wins, an older one is ignored', async () => {
  const out = path.join(work, 'sh.out');
  up('shell', `[group sh]\ncommand = ${path.join(FIX, 'ckpt.sh')} ${out}\nrestart = never\nenv.PATH = ${BUILD}:/usr/bin:/bin\n`);
  await waitFor('the script ran', () => existsSync(out) && readFileSync(out, 'utf8').includes('done'), 30_000);
  const got = Object.fromEntries(readFileSync(out, 'utf8').split('\n').filter((l) => l.includes(': ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
  assert.is(got.put5, '0');
  assert.is(got.put3, '0', 'an older timestamp is not an error');
  assert.is(got.get, 'five', 'the older save was ignored');
  assert.is(got.get2, 'seven', 'no --ts: one past the newest');
  assert.equal(JSON.parse(got.ls!), { keys: [{ key: 'k', ts: 6, bytes: 5 }] });
  assert.is(got.role, 'solo');
  assert.is(got.rm, '0');
  assert.is(got.gone, '1', 'removed');
  await killAll(as, 'sh');
});

test('null drops every save; a process outside every group is refused', async () => {
  const out = path.join(work, 'null.out');
  up('null', `[group nul]\ncommand = ${path.join(FIX, 'ckpt.sh')} ${out}\nrestart = never\nstate.destination = null\nenv.PATH = ${BUILD}:/usr/bin:/bin\n`);
  await waitFor('the script ran', () => existsSync(out) && readFileSync(out, 'utf8').includes('done'), 30_000);
  const text = readFileSync(out, 'utf8');
  assert.match(text, /^put5: 0$/m);
  assert.match(text, /^get: $/m, 'nothing kept');
  await killAll(as, 'nul');
  // The test itself is in no group: its own pid proves nothing.
  const r = durunSync(home.env, ['ckpt', 'ls']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /is not part of any group/, r.stderr);
});

test('disk: an acknowledged save survives a supervisor killed with SIGKILL', async () => {
  const out = path.join(work, 'disk.out');
  up('disk', `[group dk]\ncommand = ${C_COUNTER} ${out} 10\nrestart = never\nstate.destination = disk\n`);
  await waitFor('counting', () => last(out) >= 20, 10_000);
  assert.is(durunSync(home.env, ['stop', 'dk']).code, 0);
  const saved = last(out);
  const sup = Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));
  process.kill(sup, 'SIGKILL'); // the supervisor of this test's own DURUN_HOME
  await waitFor('supervisor gone', () => !isAlive(sup), 5_000);
  // A new supervisor (nothing in its memory) and a new counter process: the count comes from disk.
  const r = durunSync(home.env, ['up', 'dk']);
  assert.is(r.code, 0, r.stderr);
  await waitFor('counting again', () => numbers(out).length >= saved + 5, 10_000);
  const next = numbers(out)[saved]!;
  // (stopped between a save and its line: one past)
  assert.ok(next === saved + 1 || next === saved + 2, `the new counter began at ${next}, ${saved} had been saved`);
  await killAll(as, 'dk');
});

test('policy: state.destination and standby-of are checked with file:line', () => {
  const bad = path.join(work, 'bad.ini');
  writeFileSync(bad, '[group x]\ncommand = /bin/true\nstate.destination = cloud\n\n[group y]\ncommand = /bin/true\nstandby-of = nosuch\n\n[group z]\ncommand = /bin/true\nstate.destination = peer\n');
  const r = durunSync(home.env, ['up', '-f', bad]);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, new RegExp(`${bad}:3: state.destination: "cloud" is not one of memory, disk, peer, null`));
  const r2 = durunSync(home.env, ['up', '-f', bad]);
  assert.match(r2.stderr, /state\.destination/);
  writeFileSync(bad, '[group y]\ncommand = /bin/true\nstandby-of = nosuch\n\n[group z]\ncommand = /bin/true\nstate.destination = peer\n');
  const r3 = durunSync(home.env, ['up', '-f', bad]);
  assert.match(r3.stderr, new RegExp(`${bad}:3: standby-of: \\[group y\\] stands by for unknown group "nosuch"`));
  assert.match(r3.stderr, new RegExp(`${bad}:7: state.destination: "peer" sends \\[group z\\]'s saves to its standby, and it has none`));
});

test.run();
