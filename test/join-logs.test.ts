// Issue 2: independent programs joining one group at different times, and
// `durun logs --follow` streaming what detached programs print.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { durunAsync, durunSync, shutdownAll, waitGroup } from './helpers/durun.js';
import { isAlive, waitFor } from './helpers/wait.js';

const home = tempHome();
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
});

test('a second launch joins the running group; stop ends both', async () => {
  assert.is(durunSync(home.env, ['--detach', '--group', 'joint', '--', 'sleep', '801']).code, 0);
  await waitGroup(home.env, 'joint', 'first program', (g) => g.processes.some((p) => p.state === 'running' && p.argv[1] === '801'));
  assert.is(durunSync(home.env, ['--detach', '--group', 'joint', '--', 'sleep', '802']).code, 0);
  const g = await waitGroup(home.env, 'joint', 'both programs', (g) =>
    g.programs.length === 2 && ['801', '802'].every((n) => g.processes.some((p) => p.state === 'running' && p.argv[1] === n)));
  assert.equal(g.programs.map((p) => p.id), [1, 2]);
  const pids = g.processes.filter((p) => p.state === 'running').map((p) => p.pid);
  assert.is(durunSync(home.env, ['stop', 'joint']).code, 0);
  for (const pid of pids) await waitFor(`pid ${pid} stopped`, () => !isAlive(pid));
});

test('logs --follow streams new lines of a detached program', async () => {
  const flag = path.join(home.dir, 'say-more');
  const script = `echo first-line; while [ ! -e ${flag} ]; do sleep 0.05; done; echo second-line; exec sleep 803`;
  assert.is(durunSync(home.env, ['--detach', '--group', 'chatty', '--', 'sh', '-c', script]).code, 0);
  const follow = durunAsync(home.env, ['logs', 'chatty', '--follow']);
  try {
    await waitFor('first line shown', () => follow.out().includes('stdout first-line'));
    assert.not.ok(follow.out().includes('second-line'));
    writeFileSync(flag, '');
    await waitFor('second line streamed', () => /^\S+ \d+ stdout second-line$/m.test(follow.out()));
  } finally {
    follow.child.kill('SIGTERM');
    await follow.done;
  }
});

test.run();
