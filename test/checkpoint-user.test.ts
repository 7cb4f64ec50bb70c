// Issue 3 without root: the unprivileged test user checkpoints and restores
// a C counter and a bash pipe tree with its own supervisor (durun-restore
// uses a user namespace to own the pid namespace); issue 9: the kernel
// objects of test/checkpoint-kobj.test.ts (memfd, inotify, POSIX timers,
// pending signals) without root too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeTree } from './helpers/home.js';
import { endUserProcesses, unprivilegedUser } from './helpers/user.js';
import { waitFor } from './helpers/wait.js';
import { CKPT_FIXTURES, checkpointKillRestore, compile, durun, durunOk, logFiles, logMark, psOf, runningPids, type As } from './helpers/checkpoint.js';

const user = unprivilegedUser();
const bin = mkdtempSync(path.join(os.tmpdir(), 'durun-ckubin-'));
chmodSync(bin, 0o777);
const COUNTER = compile('counter.c', 'counter', bin);
const as: As | null = typeof user === 'string' ? null : { env: user.env, home: user.env.DURUN_HOME!, wrap: user.wrap };
test.after(() => {
  if (as) durun(as, ['shutdown', '--stop-all']);
  if (typeof user !== 'string') {
    endUserProcesses(user.uid);
    removeTree(user.home);
  }
  removeTree(bin);
});

test('unprivileged: C counter checkpointed, killed and restored', async () => {
  if (!as) return console.log(`skipped: ${String(user)}`);
  durunOk(as, ['run', '--detach', '--group', 'ucount', '--restart', 'never', '--', COUNTER, path.join(bin, 'u.dat'), '20']);
  const pid = await waitFor('ucount running', () => runningPids(as, 'ucount')[0], 10_000);
  const r = await checkpointKillRestore(as, 'ucount', pid);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
});

test('unprivileged: bash pipe tree', async () => {
  if (!as) return console.log(`skipped: ${String(user)}`);
  durunOk(as, ['run', '--detach', '--group', 'upipe', '--restart', 'never', '--', path.join(CKPT_FIXTURES, 'pipe.sh'), '0.02']);
  const g = await waitFor('4 processes', () => { const v = psOf(as, 'upipe'); return v && runningPids(as, 'upipe').length === 4 ? v : undefined; }, 10_000);
  const r = await checkpointKillRestore(as, 'upipe', g.programs[0]!.rootPid!);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
});

test('unprivileged: a memfd shared by two processes, inotify watches, POSIX timers and pending signals come back', async () => {
  if (!as) return console.log(`skipped: ${String(user)}`);
  const watched = path.join(bin, 'watched');
  mkdirSync(watched);
  chmodSync(watched, 0o777);
  const go = path.join(bin, 'sigpend.go');
  const programs: Array<[string, string[]]> = [
    ['umemfd', [compile('memfd.c', 'memfd', bin)]],
    ['uinot', [compile('inotify.c', 'inotify', bin), watched]],
    ['utimers', [compile('timers.c', 'timers', bin, ['-pthread'])]],
    ['usigpend', [compile('sigpend.c', 'sigpend', bin, ['-pthread']), go]],
  ];
  for (const [group, cmd] of programs) {
    durunOk(as, ['run', '--detach', '--group', group, '--restart', 'never', '--', ...cmd]);
    const pid = await waitFor(`${group} running`, () => runningPids(as, group)[0], 10_000);
    await checkpointKillRestore(as, group, pid);
  }
  const mark = logMark(as.home, 'usigpend');
  writeFileSync(go, '');
  const after = () => logFiles(as.home, 'usigpend').map((f) => readFileSync(path.join(as.home, 'logs', f)).subarray(mark.get(f) ?? 0).toString('utf8')).join('');
  await waitFor('the restored program took its signals', () => /signals verified|FAIL/.test(after()), 10_000);
  assert.not.match(after(), /FAIL/);
});

test('unprivileged: an inotify watch added by a raw system call (path unknown, its file handle closed to us) is refused at checkpoint time, naming it', async () => {
  if (!as) return console.log(`skipped: ${String(user)}`);
  // SYS_inotify_add_watch (254 on x86_64) straight from python: the interceptor never sees the path
  const code = 'import ctypes,os,time\nc=ctypes.CDLL(None)\nfd=c.inotify_init()\nwd=c.syscall(254,fd,b"/tmp",0x100)\nprint(f"tick 1 pid {os.getpid()} wd {wd}",flush=True)\ntime.sleep(600)';
  durunOk(as, ['run', '--detach', '--group', 'urawino', '--restart', 'never', '--', '/usr/bin/python3', '-c', code]);
  const pid = await waitFor('urawino running', () => runningPids(as, 'urawino')[0], 10_000);
  await waitFor('its watch is added', () => /wd 1/.test(logFiles(as.home, 'urawino').map((f) => readFileSync(path.join(as.home, 'logs', f), 'utf8')).join('')), 10_000);
  const r = durun(as, ['checkpoint', 'urawino']);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stderr, /inotify watch whose path is unknown/);
  assert.match(r.stderr, /wd 1\b/);
  const list = JSON.parse(durunOk(as, ['checkpoints', 'urawino', '--json'])) as { checkpoints: unknown[] };
  assert.is(list.checkpoints.length, 0, 'nothing is committed');
  assert.is(runningPids(as, 'urawino')[0], pid, 'the program runs on');
});

test.run();
