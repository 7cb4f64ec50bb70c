// Issue 13, everyday use: `durun logs` of all groups with --since, --stream and
// --json; `durun health` with failures on stderr, stopped groups not checked,
// no supervisor started, and the shipped cron line mailing only failures;
// `durun up -f` adding to the watched set; SIGTERM to a foreground durun
// ending what its program left behind instead of waiting for it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempHome, removeTree } from './helpers/home.js';
import { durunAsync, durunSync, policyUp, shutdownAll, waitGroup } from './helpers/durun.js';
import { DURUN_BIN, ROOT } from './helpers/paths.js';
import { validJson } from './helpers/schemas.js';
import { isAlive, waitFor } from './helpers/wait.js';

const home = tempHome('durun-oday-');
const work = mkdtempSync(path.join(os.tmpdir(), 'durun-oday-w-'));
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
  removeTree(work);
});

test('durun logs: every group (lines named by group), --stream, --since, -n, --json fitting its schema', async () => {
  for (const g of ['alpha', 'beta']) {
    const r = durunSync(home.env, ['--detach', '--group', g, '--', 'sh', '-c', `echo ${g}-out; echo ${g}-err >&2; exec sleep 600`]);
    assert.is(r.code, 0, r.stderr);
  }
  const all = await waitFor('both groups logged both streams', () => {
    const out = durunSync(home.env, ['logs']).stdout;
    return ['alpha-out', 'alpha-err', 'beta-out', 'beta-err'].every((t) => out.includes(t)) ? out : undefined;
  });
  assert.match(all, /^alpha \| \S+Z \d+ stdout alpha-out$/m);
  assert.match(all, /^beta \| \S+Z \d+ stderr beta-err$/m);
  const errOnly = durunSync(home.env, ['logs', '--stream', 'stderr']).stdout;
  assert.ok(errOnly.includes('alpha-err') && errOnly.includes('beta-err') && !errOnly.includes('-out'), errOnly);
  const one = durunSync(home.env, ['logs', 'beta', '--stream', 'stdout']).stdout.trim().split('\n');
  assert.equal(one.map((l) => l.split(' ').slice(2).join(' ')), ['stdout beta-out'], 'one group: its lines as written');
  assert.is(durunSync(home.env, ['logs', '--since', '1h']).stdout.split('\n').filter(Boolean).length, 4);
  assert.is(durunSync(home.env, ['logs', '--since', new Date(Date.now() + 60_000).toISOString()]).stdout, '', 'nothing after a future time');
  assert.is(durunSync(home.env, ['logs', '-n', '1']).stdout.split('\n').filter(Boolean).length, 1);
  const doc = validJson('logs', durunSync(home.env, ['logs', '--json', '--stream', 'stdout']).stdout) as { lines: Array<{ group: string; text: string; stream: string }> };
  assert.equal(doc.lines.map((l) => `${l.group}:${l.stream}:${l.text}`).sort(), ['alpha:stdout:alpha-out', 'beta:stdout:beta-out']);
  const bad = durunSync(home.env, ['logs', '--stream', 'both']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, '--stream takes stdout or stderr, not "both"');

  const f = durunAsync(home.env, ['logs', '--follow', '--json']);
  try {
    assert.is(durunSync(home.env, ['--detach', '--group', 'alpha', '--', 'sh', '-c', 'echo later-line; exec sleep 600']).code, 0);
    // A program started after the follow began is a new log file: the follow shows the files it started with.
    assert.is(durunSync(home.env, ['signal', 'beta', 'TERM']).code, 0);
    const line = await waitFor('a followed line', () => f.out().split('\n').find((l) => l.includes('"group":"beta"')));
    validJson('log-line', line);
  } finally {
    f.child.kill('SIGINT');
    await f.done;
  }
});

test('durun health: failures on stderr, verdicts on stdout, stopped groups not checked', async () => {
  const dir = mkdtempSync(path.join(work, 'hc-'));
  const flag = path.join(dir, 'broken');
  policyUp(home.env, dir, 'h', `[group good]\ncommand = sleep 600\ncheck.up.command = true\ncheck.up.interval = 1h\n\n[group shaky]\ncommand = sleep 600\ncheck.probe.command = "test ! -e ${flag} || { echo it broke; exit 4; }"\ncheck.probe.interval = 1h\n\n[group resting]\ncommand = sleep 600\ncheck.never.command = false\ncheck.never.interval = 1h\n`);
  assert.is(durunSync(home.env, ['down', 'resting']).code, 0);
  const ok = durunSync(home.env, ['health']);
  assert.is(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /good\/up: healthy/);
  assert.match(ok.stdout, 'resting: not checked (stopped)');
  assert.is(ok.stderr, '');
  writeFileSync(flag, '');
  const bad = durunSync(home.env, ['health']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /shaky\/probe: UNHEALTHY \(exit status 4\) in \d+ ms: it broke/);
  assert.not.match(bad.stdout, /shaky/);
  const json = validJson('health', durunSync(home.env, ['health', '--json']).stdout) as { skipped: Array<{ group: string; state: string }> };
  assert.equal(json.skipped, [{ group: 'resting', state: 'stopped' }]);

  // The cron line as shipped, with this test's paths: only failures come out (cron mails them), and the exit says so.
  const cronLine = readFileSync(path.join(ROOT, 'scripts', 'durun-health.cron'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).at(-1)!;
  const command = cronLine.split(/\s+/).slice(6).join(' ').replace(/DURUN_HOME=\S+/, `DURUN_HOME=${home.dir}`).replace('/usr/local/bin/durun', DURUN_BIN);
  const failing = spawnSync('sh', ['-c', command], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.is(failing.status, 1);
  assert.is(failing.stdout, '');
  assert.match(failing.stderr, /shaky\/probe: UNHEALTHY/);
  removeTree(flag);
  const passing = spawnSync('sh', ['-c', command], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.is(passing.status, 0, passing.stderr);
  assert.is(passing.stdout + passing.stderr, '', 'nothing for cron to mail');
  assert.is(durunSync(home.env, ['down']).code, 0);
});

test('durun health with no supervisor: says so, exits 1, starts none and creates nothing (DURUN_HOME unset)', () => {
  const fakeHome = mkdtempSync(path.join(work, 'user-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: fakeHome };
  const r = spawnSync(DURUN_BIN, ['health'], { env, encoding: 'utf8' });
  const defaultHome = path.join(fakeHome, '.local', 'state', 'durun');
  assert.is(r.status, 1);
  assert.match(r.stderr, `durun: health: no supervisor runs for ${defaultHome} (DURUN_HOME is not set: this is the default home); none was started and nothing was checked`);
  assert.not.ok(existsSync(path.join(fakeHome, '.local')), 'nothing created in the caller\'s home');
});

test('durun up -f adds to the watched set: both files stay watched, durun down stops what was up', async () => {
  const dir = mkdtempSync(path.join(work, 'up-'));
  policyUp(home.env, dir, 'one', '[group first]\ncommand = sleep 600\n');
  writeFileSync(path.join(dir, 'two.ini'), '[group second]\ncommand = sleep 600\n');
  const r = durunSync(home.env, ['up', '-f', path.join(dir, 'two.ini')]);
  assert.is(r.code, 0, r.stderr);
  // (this home also still watches the health test's file)
  assert.match(r.stdout, `durun: up: started second; policy files: `);
  assert.match(r.stdout, `${path.join(dir, 'one.ini')}, ${path.join(dir, 'two.ini')}`);
  const status = validJson('status', durunSync(home.env, ['status', '--json']).stdout) as { policy: { sources: string[] } };
  assert.equal(status.policy.sources.slice(-2), [path.join(dir, 'one.ini'), path.join(dir, 'two.ini')]);
  await waitGroup(home.env, 'first', 'still running', (g) => g.state === 'running');
  const down = durunSync(home.env, ['down']);
  assert.is(down.code, 0, down.stderr);
  assert.match(down.stdout, /stopped (first, second|second, first)$/m);
});

test('SIGTERM to a foreground durun: the root ends, what it left behind gets the signal and then SIGKILL; durun exits 143', async () => {
  // The orphan ignores SIGTERM and would live 1000 s; durun must not wait for it.
  const child = spawn(DURUN_BIN, ['--group', 'fgterm', '--', 'sh', '-c', '(trap "" TERM; exec sleep 1000) & echo $! ; exec sleep 1000'], { env: home.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const orphan = Number(await waitFor('the orphan\'s pid', () => out.trim() || undefined));
  await waitGroup(home.env, 'fgterm', 'running', (g) => g.processes.filter((p) => p.state === 'running').length >= 2);
  const ended = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const code = await Promise.race([ended, new Promise<string>((r) => setTimeout(() => r('still running after 15 s'), 15_000))]);
  assert.is(code, 143);
  assert.not.ok(isAlive(orphan), 'the orphan was ended');
});

test.run();
