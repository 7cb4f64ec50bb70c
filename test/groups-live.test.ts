// Issue 4: live policy updates. The supervisor watches its policy files: an
// edit that adds, removes and changes groups is applied without touching an
// unrelated group; an invalid edit is rejected (shown by `durun status`) and
// the old policy stays in force; `durun reload` does the same on demand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { durunSync, group, waitGroup } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';
import { at, stampGroup, workspace } from './helpers/stamps.js';
import type { GroupView } from '../supervisor/src/protocol/views.js';

const { home, dir, cleanup } = workspace('durun-live-');
const file = path.join(dir, 'app.ini');
const log = path.join(dir, 'live.log');
test.after(cleanup);

const rootPid = (g: GroupView | undefined) => g?.programs.find((p) => p.state === 'running')?.rootPid ?? null;
const argvOf = (g: GroupView | undefined) => g?.programs.find((p) => p.state === 'running')?.argv.join(' ') ?? '';

test('an edit adds, removes and changes groups; an unrelated group keeps its pid', async () => {
  writeFileSync(file, stampGroup('unrelated', log) + stampGroup('changing', log) + stampGroup('leaving', log) + stampGroup('dependent', log, ['depends = changing']));
  const up = durunSync(home.env, ['up', '-f', dir]);
  assert.is(up.code, 0, up.stderr);
  const keep = rootPid(await waitGroup(home.env, 'unrelated', 'running', (g) => rootPid(g) !== null));
  const oldChanging = rootPid(group(home.env, 'changing'));

  writeFileSync(file, stampGroup('unrelated', log) + stampGroup('changing', log, ['env.VERSION = 2'], 'v2') +
    stampGroup('dependent', log, ['depends = changing']) + stampGroup('arriving', log));
  await waitFor('leaving stopped', () => at(log, 'stop', 'leaving'));
  const arriving = await waitGroup(home.env, 'arriving', 'started', (g) => rootPid(g) !== null);
  assert.ok(arriving);
  const changed = await waitGroup(home.env, 'changing', 'restarted with the new command', (g) => / v2$/.test(argvOf(g)));
  assert.is.not(rootPid(changed), oldChanging);
  await waitGroup(home.env, 'dependent', 'back after its dependency restarted', (g) => g.state === 'running' && rootPid(g) !== null);
  assert.is(group(home.env, 'leaving')?.state, 'stopped');
  assert.is(rootPid(group(home.env, 'unrelated')), keep, 'unrelated group untouched');
  assert.is(at(log, 'stop', 'unrelated'), undefined);
});

test('an invalid edit is rejected, shown by durun status, and the old policy stays in force', async () => {
  const before = rootPid(group(home.env, 'unrelated'));
  const arriving = rootPid(group(home.env, 'arriving'));
  writeFileSync(file, stampGroup('unrelated', log, ['stop_timeout = soon']) + stampGroup('arriving', log, ['colour = blue']));
  const status = await waitFor('status shows the error', () => {
    const s = durunSync(home.env, ['status']);
    return /policy error/.test(s.stdout) ? s.stdout : undefined;
  });
  assert.match(status, `${file}:4: stop_timeout: "soon" is not a duration; write a number and a unit, e.g. 500ms, 1.5s, 2m, 1h or 1d`);
  assert.match(status, `${file}:8: unknown key "colour" in [group arriving]`);
  assert.match(status, 'previous policy still in force');
  // Nothing stopped: the groups the bad edit dropped are still running.
  for (const name of ['changing', 'dependent']) assert.is(group(home.env, name)?.state, 'running', name);
  assert.is(rootPid(group(home.env, 'unrelated')), before);
  assert.is(rootPid(group(home.env, 'arriving')), arriving);
  const reload = durunSync(home.env, ['reload']);
  assert.is(reload.code, 1);
  assert.match(reload.stderr, 'policy change rejected, the previous policy stays in force');
});

test('durun reload applies a fixed policy and clears the error', async () => {
  writeFileSync(file, stampGroup('unrelated', log) + stampGroup('arriving', log));
  // The watcher may apply it first; reload then has nothing left to do, which is fine.
  const reload = durunSync(home.env, ['reload']);
  assert.is(reload.code, 0, reload.stderr);
  await waitGroup(home.env, 'changing', 'stopped', (g) => g.state === 'stopped');
  await waitGroup(home.env, 'dependent', 'stopped', (g) => g.state === 'stopped');
  const status = durunSync(home.env, ['status']).stdout;
  assert.not.match(status, 'policy error');
  assert.match(status, 'groups: unrelated, arriving');
});

test.run();
