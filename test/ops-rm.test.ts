// Issue 13: `durun rm GROUP` forgets a finished group (record and logs), refuses
// a running or policy-defined one, and the retention sweep removes finished
// foreground programs on its own while detached and running ones stay.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempHome, removeTree } from './helpers/home.js';
import { durunSync, group, policyUp, ps, shutdownAll, waitGroup } from './helpers/durun.js';
import { events } from './helpers/events.js';
import { waitFor } from './helpers/wait.js';

test('rm refuses a running group, removes a stopped one with its logs, and --force stops first', async () => {
  const home = tempHome('durun-orm-');
  const policyDir = mkdtempSync(path.join(os.tmpdir(), 'durun-orm-pol-'));
  try {
    assert.is(durunSync(home.env, ['--detach', '--group', 'web', '--', 'sh', '-c', 'echo hello; exec sleep 600']).code, 0);
    const g = await waitGroup(home.env, 'web', 'running', (x) => x.state === 'running');
    const log = g.programs[0]!.logPath;
    await waitFor('the log written', () => existsSync(log));
    const refused = durunSync(home.env, ['rm', 'web']);
    assert.is(refused.code, 1);
    assert.match(refused.stderr, /group web is running; stop it first \(durun stop web\) or remove it with durun rm --force web/);
    assert.ok(group(home.env, 'web'), 'still there');

    assert.is(durunSync(home.env, ['stop', 'web']).code, 0);
    const rm = durunSync(home.env, ['rm', 'web']);
    assert.is(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, /removed group web \(1 program\(s\), 1 log file\(s\) deleted\)/);
    assert.is(group(home.env, 'web'), undefined);
    assert.not.ok(existsSync(log), 'log file deleted');
    assert.ok(events(home.env, ['--group', 'web']).some((e) => e.type === 'removed'), 'a removed event');

    assert.is(durunSync(home.env, ['--detach', '--group', 'busy', '--', 'sleep', '600']).code, 0);
    const pid = (await waitGroup(home.env, 'busy', 'running', (x) => x.processes.some((p) => p.state === 'running'))).processes[0]!.pid;
    assert.is(durunSync(home.env, ['rm', '--force', 'busy']).code, 0);
    await waitFor('its process ended', () => !existsSync(`/proc/${pid}`) || undefined);
    assert.is(group(home.env, 'busy'), undefined);

    const unknown = durunSync(home.env, ['rm', 'nosuch']);
    assert.is(unknown.code, 1);
    assert.match(unknown.stderr, /unknown group "nosuch"/);

    policyUp(home.env, policyDir, 'p', '[group pol]\ncommand = sleep 600\n');
    assert.is(durunSync(home.env, ['down', 'pol']).code, 0);
    const pol = durunSync(home.env, ['rm', 'pol']);
    assert.is(pol.code, 1);
    assert.match(pol.stderr, new RegExp(`group pol is defined in ${path.join(policyDir, 'p.ini')}: take it out of the policy there`));
  } finally {
    shutdownAll(home.env);
    home.cleanup();
    removeTree(policyDir);
  }
});

test('a new group of a removed name starts with a fresh log', async () => {
  const home = tempHome('durun-ormlog-');
  try {
    assert.is(durunSync(home.env, ['--detach', '--group', 'again', '--restart', 'never', '--', 'echo', 'first-life']).code, 0);
    await waitGroup(home.env, 'again', 'ended', (g) => g.state === 'exited');
    assert.is(durunSync(home.env, ['rm', 'again']).code, 0);
    assert.is(durunSync(home.env, ['--detach', '--group', 'again', '--restart', 'never', '--', 'echo', 'second-life']).code, 0);
    await waitGroup(home.env, 'again', 'ended', (g) => g.state === 'exited');
    const logs = await waitFor('the second output', () => {
      const out = durunSync(home.env, ['logs', 'again']).stdout;
      return out.includes('second-life') ? out : undefined;
    });
    assert.not.match(logs, /first-life/);
  } finally {
    shutdownAll(home.env);
    home.cleanup();
  }
});

test('retention: finished foreground programs leave after DURUN_RETENTION; detached and running ones stay', async () => {
  const home = tempHome('durun-oret-');
  const env = { ...home.env, DURUN_RETENTION: '1s' };
  try {
    assert.is(durunSync(env, ['--group', 'oneoff', '--', 'true']).code, 0);
    assert.is(durunSync(env, ['--group', 'mixed', '--', 'true']).code, 0);
    assert.is(durunSync(env, ['--detach', '--group', 'mixed', '--', 'sleep', '600']).code, 0);
    assert.is(durunSync(env, ['--detach', '--group', 'bg', '--restart', 'never', '--', 'true']).code, 0);
    assert.ok(group(env, 'oneoff'), 'listed right after it ended');
    await waitFor('oneoff swept', () => group(env, 'oneoff') === undefined, 10_000, 100);
    const mixed = await waitFor('the finished program of mixed swept', () => {
      const g = group(env, 'mixed');
      return g && g.programs.length === 1 ? g : undefined;
    }, 10_000, 100);
    assert.is(mixed.programs[0]!.detached, true, 'the running detached program stays');
    assert.ok(mixed.processes.every((p) => p.program === mixed.programs[0]!.id), 'the swept program\'s processes went with it');
    assert.ok(group(env, 'bg'), 'a finished detached group stays until durun rm');
    assert.equal(ps(env).groups.map((g) => g.name).sort(), ['bg', 'mixed']);
  } finally {
    shutdownAll(env);
    home.cleanup();
  }
});

test.run();
