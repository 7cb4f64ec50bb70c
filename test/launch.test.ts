// Issue 2, foreground launches: exit statuses, signals, terminals, bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as pty from 'node-pty';
import { tempHome } from './helpers/home.js';
import { durunAsync, durunSync, group, shutdownAll, waitGroup } from './helpers/durun.js';
import { DURUN_BIN } from './helpers/paths.js';
import { waitFor } from './helpers/wait.js';

const home = tempHome();
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
});

test('passes output through and exits with the program status', () => {
  const res = durunSync(home.env, ['--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.is(res.stdout, 'out\n');
  assert.is(res.stderr, 'err\n');
  assert.is(res.code, 3);
});

test('stdin reaches the program', () => {
  const res = durunSync(home.env, ['--group', 'cat', '--', 'cat'], { input: 'line one\nline two\n' });
  assert.is(res.stdout, 'line one\nline two\n');
  assert.is(res.code, 0);
});

test('death by signal N exits 128+N', () => {
  const res = durunSync(home.env, ['--restart', 'never', '--group', 'segv', '--', 'sh', '-c', 'kill -SEGV $$']);
  assert.is(res.code, 128 + 11);
});

test('SIGTERM to durun reaches the program and ends it as planned', async () => {
  const { child, done, out } = durunAsync(home.env, ['--group', 'term', '--', 'sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done']);
  await waitFor('program ready', () => out().includes('ready'));
  child.kill('SIGTERM');
  const res = await done;
  assert.is(res.code, 7, res.stderr);
  assert.ok(res.stdout.includes('got-term'));
  const g = group(home.env, 'term');
  assert.is(g?.restarts, 0, 'a signal the operator sent through durun is not a crash');
});

test('a tty stays a tty', async () => {
  const term = pty.spawn(DURUN_BIN, ['--group', 'tty', '--', 'sh', '-c', 'test -t 0 && test -t 1 && echo TTY-OK; stty size'], {
    cols: 91, rows: 37, env: home.env as Record<string, string>,
  });
  let out = '';
  term.onData((d) => (out += d));
  const code = await new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  assert.is(code, 0, out);
  assert.ok(out.includes('TTY-OK'), out);
  assert.ok(out.includes('37 91'), out);
});

test('unknown command exits 127, non-executable 126, usage error 2', () => {
  const missing = durunSync(home.env, ['--', 'no-such-command-xyz']);
  assert.is(missing.code, 127);
  assert.match(missing.stderr, /no-such-command-xyz: command not found/);
  const file = path.join(home.dir, 'not-exec.sh');
  writeFileSync(file, '#!/bin/sh\necho hi\n');
  chmodSync(file, 0o644);
  const notExec = durunSync(home.env, ['--', file]);
  assert.is(notExec.code, 126, notExec.stderr);
  const usage = durunSync(home.env, ['--restart', 'sometimes', '--', 'true']);
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /restart/);
  const unknownSub = durunSync(home.env, ['frobnicate']);
  assert.is(unknownSub.code, 2);
  assert.match(unknownSub.stderr, /unknown command "frobnicate"/);
});

test('unknown group gets a one-line error naming the known groups', () => {
  const res = durunSync(home.env, ['stop', 'no-such-group']);
  assert.is(res.code, 1);
  assert.match(res.stderr, /^durun: unknown group "no-such-group"; known groups: /);
  assert.is(res.stderr.trim().split('\n').length, 1);
});

test('planned exits are recorded with their status and not restarted', async () => {
  for (const [name, status] of [['ok', 0], ['fail', 4]] as const) {
    const res = durunSync(home.env, ['--group', name, '--', 'sh', '-c', `exit ${status}`]);
    assert.is(res.code, status);
    const g = await waitGroup(home.env, name, 'exited', (g) => g.state === 'exited');
    assert.is(g.restarts, 0);
    assert.is(g.programs[0]!.lastExit?.status, status);
  }
});

test('on-failure restarts a non-zero planned exit', () => {
  const counter = path.join(home.dir, 'onfail.count');
  const script = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 3 ] && exit 0; exit 5`;
  const res = durunSync(home.env, ['--restart', 'on-failure', '--backoff', '10', '--group', 'onfail', '--', 'sh', '-c', script]);
  assert.is(res.code, 0, res.stderr);
  assert.is(group(home.env, 'onfail')?.restarts, 2);
});

test('a crash loop ends in the failed state after the rate limit', () => {
  const res = durunSync(home.env, ['--max-restarts', '3', '--backoff', '5', '--group', 'loop', '--', 'sh', '-c', 'kill -KILL $$']);
  assert.is(res.code, 128 + 9);
  assert.match(res.stderr, /group loop failed/);
  const g = group(home.env, 'loop');
  assert.is(g?.state, 'failed');
  assert.is(g?.restarts, 3);
  assert.match(g?.failedReason ?? '', /limit 3 restarts/);
});

test.run();
