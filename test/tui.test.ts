// `durun tui` in a real pseudo-terminal against a real supervisor with a few
// groups, read through a terminal emulator: what a person sees (names, colours,
// the tree, help, a restart, a checkpoint, 80x24, the supervisor going away and
// coming back) and the terminal given back after q and after SIGTERM.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { durunSync, policyUp, shutdownAll, waitGroup } from './helpers/durun.js';
import { DURUN_BIN } from './helpers/paths.js';
import { isAlive, waitFor } from './helpers/wait.js';
import { VirtualTerminal } from './helpers/terminal.js';
import type { GroupView } from '../supervisor/src/protocol/views.js';
import type { CheckpointsAnswer } from '../supervisor/src/protocol/checkpoint-requests.js';

const home = tempHome();
const env = home.env;
const open: VirtualTerminal[] = [];
test.after(() => {
  for (const t of open) t.kill();
  shutdownAll(env);
  home.cleanup();
});

/** xterm's palette index of green, red... as blessed paints `{green-fg}`. */
const GREEN = 2;

const running = (g: GroupView, argv: string) => g.processes.find((p) => p.state === 'running' && p.argv.join(' ') === argv);

/** `durun tui` inside a shell that reports its exit status and the tty modes it left. */
function tui(extraEnv: Record<string, string> = {}, cols = 120, rows = 36): VirtualTerminal {
  const t = new VirtualTerminal('/bin/bash', ['-c', `"${DURUN_BIN}" tui; echo "TUI-EXIT=$?"; stty -a; sleep 60`], { ...env, ...extraEnv }, cols, rows);
  open.push(t);
  return t;
}

/** The pid of `durun tui` (node, exec'd by the launcher): the shell's child. */
function tuiPid(t: VirtualTerminal): number {
  for (const d of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === t.proc.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('tui')) return Number(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // a process that ended meanwhile
    }
  }
  throw new Error('no durun tui under the test shell');
}

/** After the TUI ended: the normal screen is back, no mouse reporting, the cursor shown, the tty cooked. */
async function assertRestored(t: VirtualTerminal, code: number): Promise<void> {
  const after = await t.screen('the shell after the TUI', (s) => (s.includes(`TUI-EXIT=${code}`) && /\bicanon\b/.test(s) ? s : ''));
  assert.is(t.term.buffer.active.type, 'normal', 'alternate screen left');
  assert.is(t.term.modes.mouseTrackingMode, 'none', 'mouse reporting off');
  assert.ok(t.raw.lastIndexOf('\x1b[?25h') > t.raw.lastIndexOf('\x1b[?25l'), 'cursor shown again');
  assert.match(after, /(^|\s)echo(\s|$)/m, 'echo back on');
  assert.not.match(after, /-icanon/, 'canonical mode back on');
}

test('groups in colour, the tree indented (a daemon under the runner), help on ?, fits 80x24 without leftovers, q gives the terminal back', async () => {
  assert.is(durunSync(env, ['--detach', '--group', 'alpha', '--', 'sleep', '6101']).code, 0);
  assert.is(durunSync(env, ['--detach', '--group', 'beta', '--', 'bash', '-c', 'sleep 6102 & exec sleep 6103']).code, 0);
  await waitGroup(env, 'beta', 'both sleeps', (g) => !!running(g, 'sleep 6102') && !!running(g, 'sleep 6103'));
  assert.is(durunSync(env, ['--detach', '--group', 'delta', '--', 'sh', '-c', '(sleep 6201 &); sleep 6202']).code, 0);
  await waitGroup(env, 'delta', 'the daemon and the sleep', (g) => !!running(g, 'sleep 6201') && !!running(g, 'sleep 6202'));
  const t = tui();
  const lines = await t.screen('both groups listed', (_s, ls) => (ls.some((l) => /▶ alpha\s+running/.test(l)) && ls.some((l) => /beta\s+running/.test(l)) ? ls : null));
  // The state is painted green, the name is not.
  const y = lines.findIndex((l) => /▶ alpha/.test(l));
  const cells = t.row(y);
  const at = lines[y]!.indexOf('running');
  assert.is(cells[at]!.fg, GREEN, 'running is green');
  assert.is(cells[lines[y]!.indexOf('alpha')]!.fg, null, 'the name keeps the default colour');

  // beta's tree: the runner, then sleep 6103 (bash exec'd), then its child one level deeper.
  t.keys('j');
  const tree = await t.screen('beta selected with its tree', (_s, ls) => (ls.some((l) => l.includes('sleep 6102')) ? ls : null));
  const indentOf = (argv: string) => {
    const l = tree.find((x) => /\d+ running/.test(x) && x.replace(/[│\s]+$/, '').endsWith(argv));
    assert.ok(l, `a process row for ${argv}`);
    return l!.indexOf(argv);
  };
  assert.is(indentOf('sleep 6102') - indentOf('sleep 6103'), 2, 'child indented under its parent');
  assert.ok(tree.some((l) => /runner\s+durun \(program 1\)/.test(l)), 'the runner heads the tree');

  // A daemonized process (its parent exited; the runner, a subreaper, adopted it) shows under the runner, marked.
  t.keys('j');
  const daemon = await t.screen('delta selected with its tree', (_s, ls) => (ls.some((l) => l.includes('sleep 6201 [daemonized]')) ? ls : null));
  const shell = daemon.find((l) => /\d+ running .*sh -c/.test(l))!;
  const orphan = daemon.find((l) => l.includes('sleep 6201 [daemonized]'))!;
  assert.is(orphan.indexOf('sleep 6201'), shell.indexOf('sh -c'), 'beside the program\'s root, under the runner');

  t.keys('?');
  await t.screen('help', (s) => s.includes('restart the selected group') && s.includes('take a checkpoint'));
  t.keys('x');
  await t.screen('help closed', (s) => !s.includes('take a checkpoint'));

  t.resize(80, 24);
  const small = await t.screen('80x24 redrawn', (_s, ls) => (ls.some((l) => l.includes('alpha')) && ls.some((l) => l.includes('beta')) && ls[1]!.length === 80 ? ls : null));
  // Every pane's right border sits in the last column and nothing of the wider layout is left over.
  for (let row = 1; row < 23; row++) assert.ok(/[│┐┘┤]$/.test(small[row]!), `row ${row} ends at the border: ${JSON.stringify(small[row])}`);
  assert.match(small[0]!, /^ durun: supervisor \d+/);
  assert.ok(small[23]!.length <= 80);

  t.keys('q');
  await assertRestored(t, 0);
});

test('r then y restarts the selected group (new pid, event shown); c takes a checkpoint, R then y restores it', async () => {
  const before = running((await waitGroup(env, 'alpha', 'running', (g) => !!running(g, 'sleep 6101'))), 'sleep 6101')!;
  const t = tui();
  await t.screen('groups listed', (s) => s.includes('beta'));
  t.keys('j');
  t.keys('gg');
  await t.screen('alpha selected again', (_s, ls) => ls.some((l) => /▶ alpha/.test(l)));
  t.keys('r');
  await t.screen('asks to confirm', (s) => s.includes('restart alpha?'));
  t.keys('y');
  const after = running(await waitGroup(env, 'alpha', 'restarted', (g) => { const p = running(g, 'sleep 6101'); return !!p && p.pid !== before.pid; }, 20_000), 'sleep 6101')!;
  assert.ok(!isAlive(before.pid), 'the old instance is gone');
  await t.screen('restart said and the new process shown', (s) => s.includes('restarted alpha') && new RegExp(`process-start\\s+${after.pid}`).test(s) && s.includes(String(after.pid)));

  t.keys('c');
  const line = await t.screen('checkpoint said', (s) => /checkpoint (\S+) of alpha: [\d.]+ [KM]iB, programs stopped \d+ ms/.exec(s));
  const list = JSON.parse(durunSync(env, ['checkpoints', 'alpha', '--json']).stdout) as CheckpointsAnswer;
  assert.is(list.checkpoints.at(-1)?.id, line[1]);
  await t.screen('the checkpoint listed in the group pane', (s) => new RegExp(`${line[1]}\\s+full`).test(s));
  t.keys('R');
  await t.screen('asks to confirm the restore', (s) => s.includes(`restore alpha from checkpoint ${line[1]}?`));
  t.keys('y');
  const restored = await t.screen('restore said', (s) => new RegExp(`restored alpha from ${line[1]}: pid\\(s\\) (\\d+)`).exec(s), 30_000);
  await waitGroup(env, 'alpha', 'running the restored process', (g) => running(g, 'sleep 6101')?.pid === Number(restored[1]));
  t.keys('q');
  await assertRestored(t, 0);
});

/** Rows of the group list on screen (below its header row, down to its bottom border). */
const groupRows = (ls: string[]) => ls.slice(3, ls.findIndex((l, i) => i > 1 && l.startsWith('└')));

test('a policy group: search, its check with result and latency, its log, events filter, stop with y, start with u, click to select', async () => {
  const script = path.join(home.dir, 'gamma.sh');
  writeFileSync(script, 'echo hello-from-gamma\nexec sleep 6105\n');
  policyUp(env, home.dir, 'gamma', `[group gamma]\ncommand = /bin/sh ${script}\ncheck.alive.command = true\ncheck.alive.interval = 1s\n`);
  const t = tui();
  await t.screen('groups listed', (s) => s.includes('gamma'));
  t.keys('/gam\r');
  const only = await t.screen('only gamma listed', (s, ls) => (s.includes('search "gam" (1 shown)') ? groupRows(ls) : null));
  assert.equal(only.filter((l) => /\S/.test(l.slice(1, -1))).length, 1, `rows: ${only.join(' / ')}`);
  assert.match(only[0]!, /▶ gamma\s+running/);
  await t.screen('the check with result and latency, and the log', (s) => /▶ gamma\s+running\s+healthy/.test(s) && /alive\s+healthy\s+\d+ms\s+\d+(ms|s)/.test(s) && s.includes('hello-from-gamma'));

  // Enter focuses the group's pane, l shows the whole log of the program under the cursor, l again goes back.
  t.keys('\r');
  t.keys('l');
  await t.screen('the log pane', (s) => /LOG of gamma program \d+ \(l or Esc: back\)/.test(s) && s.includes('hello-from-gamma') && !s.includes('PROGRAMS'));
  t.keys('l');
  await t.screen('back to the group', (s) => s.includes('PROGRAMS') && s.includes('back to the group'));
  t.keys('m');
  await t.screen('migrate not available', (s) => s.includes('migrate: not available'));
  t.keys('egamma health\r');
  const events = await t.screen('events of gamma health only', (_s, ls) => {
    const top = ls.findIndex((l) => l.includes('events (filter: gamma health)'));
    const rows = top < 0 ? [] : ls.slice(top + 1, ls.length - 2).filter((l) => /\d\d:\d\d:\d\d/.test(l));
    return rows.length ? rows : null;
  });
  for (const l of events) assert.match(l, /gamma\s+health\s/);

  t.keys('s');
  await t.screen('asks to confirm', (s) => s.includes('stop gamma?'));
  t.keys('y');
  await t.screen('stopped', (s) => s.includes('stopped gamma (1 program(s))') && /▶ gamma\s+stopped/.test(s), 20_000);
  t.keys('u');
  await t.screen('started again', (s) => s.includes('started gamma') && /▶ gamma\s+running/.test(s), 20_000);

  t.keys('/\x7f\x7f\x7f\r');
  const all = await t.screen('all groups again', (_s, ls) => (groupRows(ls).some((l) => l.includes('beta')) ? ls : null));
  // A click on beta's row selects it: the button's release, as an SGR mouse report (1-based; blessed
  // reads one report per read, and a release alone is a click).
  const y = all.findIndex((l) => /^│\s+beta\s/.test(l));
  t.keys(`\x1b[<0;5;${y + 1}m`);
  await t.screen('beta selected by the mouse', (s) => /▶ beta/.test(s));
  t.keys('q');
  await assertRestored(t, 0);
});

test('500 processes: listed, scrolled through from top to bottom and back', async () => {
  assert.is(durunSync(env, ['--detach', '--group', 'many', '--', 'bash', '-c', 'for i in $(seq 500); do sleep 7001 & done; wait']).code, 0);
  const g = await waitGroup(env, 'many', '501 processes', (x) => x.processes.filter((q) => q.state === 'running').length === 501, 60_000);
  const last = g.processes.filter((q) => q.state === 'running').at(-1)!;
  const t = tui();
  await t.screen('groups listed', (s) => s.includes('many'));
  t.keys('/many\r');
  await t.screen('the tree of 501', (s) => s.includes('PROCESSES (501 running)') && s.includes('▶ many'));
  t.keys('\tG');
  await t.screen('the bottom of the pane', (s) => s.includes('LOG of program 1') && !s.includes('PROCESSES (501'));
  t.keys('k'.repeat(8));
  await t.screen('the last process, eight lines up', (s) => new RegExp(`${last.pid} running`).test(s));
  t.keys('gg');
  await t.screen('the top again', (s) => s.includes('PROCESSES (501 running)') && s.includes('PROGRAMS'));
  t.keys('q');
  await assertRestored(t, 0);
  assert.is(durunSync(env, ['stop', 'many']).code, 0);
});

test('SIGTERM, SIGHUP and SIGINT end the TUI (143, 129, 130) and give the terminal back', async () => {
  for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129], ['SIGINT', 130]] as const) {
    const t = tui();
    await t.screen('groups listed', (s) => s.includes('beta'));
    process.kill(tuiPid(t), signal);
    await assertRestored(t, code);
  }
});

test('an error in a handler ends the TUI with the terminal restored, and the error printed on the normal screen', async () => {
  const t = tui({ DURUN_FAULT: 'tui:key-error' });
  await t.screen('groups listed', (s) => s.includes('beta'));
  t.keys('j');
  await assertRestored(t, 70);
  assert.match(t.text(), /durun: internal error: Error: fault injection: tui:key-error/);
});

test('without a terminal it says so and exits 2', () => {
  const r = durunSync(env, ['tui']);
  assert.is(r.code, 2);
  assert.is(r.stderr.trim(), 'durun tui: needs a terminal (its input and output are not one); scripts read durun ps --json and durun events --follow --json');
});

test('NO_COLOR: monochrome, the selection still marked', async () => {
  const t = tui({ NO_COLOR: '1' });
  const lines = await t.screen('groups listed', (_s, ls) => (ls.some((l) => /▶ alpha\s+running/.test(l)) ? ls : null));
  for (let y = 0; y < lines.length; y++) {
    const coloured = t.row(y).filter((c) => c.fg !== null && c.char.trim());
    assert.is(coloured.length, 0, `row ${y} has coloured text: ${lines[y]}`);
  }
  t.keys('q');
  await assertRestored(t, 0);
});

test('says the supervisor is not running when it is killed, and reconnects when one comes back', async () => {
  const t = tui();
  await t.screen('groups listed', (s) => s.includes('beta'));
  t.keys('j');
  await t.screen('beta selected', (s) => s.includes('▶ beta'));
  // The supervisor of this test's home only: its pid file, checked against the process's own environment.
  const pid = Number(readFileSync(`${home.dir}/supervisor.pid`, 'utf8'));
  assert.ok(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`DURUN_HOME=${home.dir}`), 'the pid file names our supervisor');
  assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /supervisor/);
  process.kill(pid, 'SIGKILL');
  await t.screen('not running shown, no stale figures', (s) => s.includes('supervisor not running') && !/beta\s+running/.test(s));
  await waitFor('old supervisor gone', () => !isAlive(pid));
  // The next supervisor: started by `durun ps`, unless a runner of the groups already started one.
  assert.is(durunSync(env, ['ps']).code, 0);
  const next = Number(readFileSync(`${home.dir}/supervisor.pid`, 'utf8'));
  assert.is.not(next, pid);
  await t.screen('reconnected to the new supervisor', (s) => s.includes(`supervisor ${next}`) && /▶ beta\s+running/.test(s) && !s.includes('supervisor not running'), 20_000);
  t.keys('q');
  await assertRestored(t, 0);
});

test.run();
