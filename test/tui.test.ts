// `durun tui` in a real terminal (node-pty): shows a running group's tree and
// events, restarts it from the keyboard, quits cleanly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as pty from 'node-pty';
import { tempHome } from './helpers/home.js';
import { durunSync, shutdownAll, waitGroup } from './helpers/durun.js';
import { DURUN_BIN } from './helpers/paths.js';
import { isAlive, waitFor } from './helpers/wait.js';
import { groupLines } from '../tui/src/render.js';

const home = tempHome();
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
});

test('group lines mark state and count live processes', () => {
  const lines = groupLines([{ name: 'db', state: 'failed', restarts: 5, failedReason: 'x', programs: [], processes: [] }]);
  assert.equal(lines, ['✗ db               failed       0 procs  restarts 5']);
});

test('shows the tree, restarts with r, quits with q', async () => {
  assert.is(durunSync(home.env, ['--detach', '--group', 'web', '--', 'sh', '-c', 'sleep 700 & wait']).code, 0);
  const g = await waitGroup(home.env, 'web', 'running', (g) => g.processes.some((p) => p.state === 'running' && p.argv.join(' ') === 'sleep 700'));
  const sleeper = g.processes.find((p) => p.state === 'running' && p.argv.join(' ') === 'sleep 700')!;

  const term = pty.spawn(DURUN_BIN, ['tui'], { cols: 120, rows: 35, env: home.env as Record<string, string> });
  let raw = '';
  term.onData((d) => (raw += d));
  // blessed moves the cursor over blanks (ESC[nC): turn those into spaces, drop other escapes.
  const text = () => raw.replace(/\x1b\[(\d*)C/g, (_, n: string) => ' '.repeat(Number(n || 1))).replace(/\x1b(\[[0-9;?]*[A-Za-z]|[()][0B]|[78=>])/g, '');
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  try {
    await waitFor('tree on screen', () => text().includes('sleep 700') && text().includes(String(sleeper.pid)) && text().includes('web'));
    await waitFor('events on screen', () => text().includes('process-start'));
    term.write('r');
    // The screen is redrawn by differences, so judge the key by its effect.
    await waitGroup(home.env, 'web', 'restarted from the keyboard', (g2) => g2.programs[0]!.instance === 2 && g2.processes.some((p) => p.state === 'running' && p.argv.join(' ') === 'sleep 700'), 20_000);
    assert.ok(!isAlive(sleeper.pid), 'old instance gone');
    await waitFor('confirmation on screen', () => text().includes('done'));
    term.write('q');
    assert.is(await exited, 0);
  } finally {
    term.kill();
  }
});

test.run();
