// Issue 4: how a group is asked to stop (stop signal or stop command), and
// SIGKILL after stop_timeout reaching a double-forked grandchild.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { durunSync, group } from './helpers/durun.js';
import { isAlive, waitFor } from './helpers/wait.js';
import { FIXTURES } from './helpers/paths.js';
import { at, readyGroup, stamps, workspace } from './helpers/stamps.js';

const { home, dir, cleanup } = workspace('durun-stop-');
test.after(cleanup);

test('stop signal vs stop command', () => {
  const log = path.join(dir, 'stop.log');
  const file = path.join(dir, 'stop.ini');
  writeFileSync(file, readyGroup('bysignal', log, ['stop_signal = USR1']) +
    // The stop command only drops a file the program watches for: no signal reaches it.
    [`[group bycommand]`, `command = ${path.join(FIXTURES, 'groups', 'stamp.sh')} bycommand ${log} stopfile`, `stop_command = touch ${log}.stop.bycommand`, ''].join('\n'));
  const up = durunSync(home.env, ['up', '-f', file]);
  assert.is(up.code, 0, up.stderr);
  const down = durunSync(home.env, ['down']);
  assert.is(down.code, 0, down.stderr);
  const stops = Object.fromEntries(stamps(log).filter((s) => s.event === 'stop').map((s) => [s.name, s.extra]));
  assert.equal(stops, { bysignal: 'USR1', bycommand: 'none' });
  assert.is(group(home.env, 'bysignal')?.state, 'stopped');
  assert.is(group(home.env, 'bycommand')?.state, 'stopped');
  assert.ok(at(log, 'start', 'bycommand'));
});

test('SIGKILL after stop_timeout reaches a double-forked grandchild that ignores SIGTERM', async () => {
  const file = path.join(dir, 'stubborn.ini');
  writeFileSync(file, `[group stubborn]\ncommand = ${path.join(FIXTURES, 'groups', 'stubborn.sh')} ${dir}\nstop_timeout = 500ms\n`);
  assert.is(durunSync(home.env, ['up', '-f', file]).code, 0);
  const pidOf = (name: string) => Number(readFileSync(path.join(dir, name), 'utf8'));
  // The script writes the grandchild's pid file and its own in either order.
  const grandchild = await waitFor('grandchild pid', () => { try { return pidOf('grandchild.pid'); } catch { return 0; } });
  const root = await waitFor('root pid', () => { try { return pidOf('root.pid'); } catch { return 0; } });
  assert.ok(isAlive(grandchild) && isAlive(root));
  const began = Date.now();
  const down = durunSync(home.env, ['down', 'stubborn']);
  assert.is(down.code, 0, down.stderr);
  assert.ok(Date.now() - began >= 500, 'waited stop_timeout before SIGKILL');
  assert.ok(!isAlive(grandchild), 'grandchild killed');
  assert.ok(!isAlive(root), 'root killed');
  assert.is(group(home.env, 'stubborn')?.state, 'stopped');
});

test.run();
