// Issue 9, item 1, as root: the kernel objects a program holds beyond fds
// that are reopened: memfds, inotify watches, POSIX timers and pending
// signals. Each fixture (test/fixtures/ckpt/) checks its own objects every
// tick; it is checkpointed with `durun checkpoint`, runs on, is killed with
// SIGKILL, restored with `durun restore`, and must go on finding them right.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './helpers/wait.js';
import { checkpoint, checkpointKillRestore, compile, durun, durunOk, killAll, lastTick, logFiles, logMark, rootWorkspace, runningPids, ticks, waitTick } from './helpers/checkpoint.js';

const { home, as, bin, cleanup } = rootWorkspace('durun-kobj');
test.after(cleanup);

async function start(group: string, cmd: string[]): Promise<number> {
  durunOk(as, ['run', '--detach', '--group', group, '--restart', 'never', '--', ...cmd]);
  return waitFor(`${group} running`, () => runningPids(as, group)[0], 10_000);
}

/** What the group's logs say after mark (the restored program's lines). */
function logAfter(group: string, mark: Map<string, number>): string {
  return logFiles(home.dir, group).map((f) => readFileSync(path.join(home.dir, 'logs', f)).subarray(mark.get(f) ?? 0).toString('utf8')).join('');
}

test('a memfd (one process): name, size, seals, contents; its fd, a second read-only fd and its mapping stay one object', async () => {
  const exe = compile('memfd.c', 'memfd', bin);
  const pid = await start('memfd1', [exe, 'alone']);
  const r = await checkpointKillRestore(as, 'memfd1', pid);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
  const shown = durunOk(as, ['inspect', r.cp.dir]);
  assert.match(shown, /memfd +\d+ bytes +"durun-memfd" size 1048676 seals 0x6/);
  assert.match(shown, /memfd +\d+ bytes +"durun-plain" size 5 seals 0x1/);
  await killAll(as, 'memfd1');
});

test('a memfd shared by a parent and its child (fds and mappings in both) comes back as one object', async () => {
  const exe = compile('memfd.c', 'memfd', bin);
  const pid = await start('memfd2', [exe]);
  const r = await checkpointKillRestore(as, 'memfd2', pid, { runOn: 15 });
  assert.is(r.cp.processes, 2, 'parent and child are checkpointed');
  // the parent checks the child's count every 50 ticks
  await waitTick(home.dir, 'memfd2', r.resumed + 110, pid);
  assert.equal(ticks(home.dir, 'memfd2').fails, []);
  await killAll(as, 'memfd2');
});

test('inotify: every watch comes back on its path with its watch descriptor (a hole in the wds kept)', async () => {
  const exe = compile('inotify.c', 'inotify', bin);
  const dir = path.join(bin, 'watched');
  mkdirSync(dir);
  const pid = await start('inot', [exe, dir]);
  const r = await checkpointKillRestore(as, 'inot', pid);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
  assert.match(readFileSync(path.join(home.dir, 'logs', logFiles(home.dir, 'inot')[0]!), 'utf8'), /wds 1 2 4/);
  assert.match(durunOk(as, ['inspect', r.cp.dir]), new RegExp(`inotify .* wd 4 ${dir}/b +wd 2 ${dir}/f +wd 1 ${dir}/a`));
  await killAll(as, 'inot');
});

test('inotify: a watch added by a raw system call (the interceptor never saw its path) is carried by its file handle as root', async () => {
  const dir = path.join(bin, 'rawwatched');
  mkdirSync(dir);
  // SYS_inotify_add_watch (254 on x86_64) straight from python; IN_CREATE
  const code = [
    'import ctypes,os,struct,time',
    'c=ctypes.CDLL(None)',
    'fd=c.inotify_init1(os.O_NONBLOCK)',
    `wd=c.syscall(254,fd,${JSON.stringify(dir)}.encode(),0x100)`,
    'n=0',
    'while True:',
    ' n+=1',
    ' try:',
    '  w,mask,_,_=struct.unpack_from("iIII",os.read(fd,4096)); print(f"event wd {w} mask {mask:#x}",flush=True)',
    ' except BlockingIOError: pass',
    ' print(f"tick {n} pid {os.getpid()} wd {wd}",flush=True)',
    ' time.sleep(0.02)',
  ].join('\n');
  const pid = await start('rawino', ['/usr/bin/python3', '-c', code]);
  const r = await checkpointKillRestore(as, 'rawino', pid);
  assert.match(durunOk(as, ['inspect', r.cp.dir]), new RegExp(`inotify .* wd 1 ${dir}\n`));
  const mark = logMark(home.dir, 'rawino');
  writeFileSync(path.join(dir, 'new'), '');
  await waitFor('the restored watch reports the new file', () => /event wd 1 mask 0x100/.test(logAfter('rawino', mark)), 10_000);
  await killAll(as, 'rawino');
});

test('POSIX timers: ids (with a hole), clocks, signal and thread notifications, values, time left and intervals', async () => {
  const exe = compile('timers.c', 'timers', bin, ['-pthread']);
  const pid = await start('timers', [exe]);
  const r = await checkpointKillRestore(as, 'timers', pid);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
  await killAll(as, 'timers');
});

test('a SIGEV_THREAD timer: checkpoint refused, naming glibc\'s helper thread that blocks every signal', async () => {
  const exe = compile('timers.c', 'timers', bin, ['-pthread']);
  const pid = await start('sevthread', [exe, 'sigev-thread']);
  await waitTick(home.dir, 'sevthread', 2, pid);
  const r = durun(as, ['checkpoint', 'sevthread']);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stderr, /a thread blocks the checkpoint signal/);
  assert.match(r.stderr, /SIGEV_THREAD/);
  const list = JSON.parse(durunOk(as, ['checkpoints', 'sevthread', '--json'])) as { checkpoints: unknown[] };
  assert.is(list.checkpoints.length, 0, 'nothing is committed');
  await waitTick(home.dir, 'sevthread', lastTick(home.dir, 'sevthread', pid) + 3, pid);
  assert.equal(ticks(home.dir, 'sevthread').fails, [], 'the program runs on, its timers intact');
  await killAll(as, 'sevthread');
});

test('pending signals: the process\'s and each thread\'s, real-time ones with every instance, value and order', async () => {
  const exe = compile('sigpend.c', 'sigpend', bin, ['-pthread']);
  const go = path.join(bin, 'sigpend.go');
  const pid = await start('sigpend', [exe, go]);
  // the checkpoint takes them out of the kernel and gives them back: the program checks each tick they are still there
  const r = await checkpointKillRestore(as, 'sigpend', pid);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
  const mark = logMark(home.dir, 'sigpend');
  writeFileSync(go, '');
  await waitFor('the restored program took its signals', () => /signals verified|FAIL/.test(logAfter('sigpend', mark)), 10_000);
  assert.not.match(logAfter('sigpend', mark), /FAIL/);
  assert.ok(lastTick(home.dir, 'sigpend', pid) > r.resumed);
  // a second checkpoint of the same process: nothing pending now, nothing invented
  const again = checkpoint(as, 'sigpend');
  assert.ok(again.id);
  await waitTick(home.dir, 'sigpend', lastTick(home.dir, 'sigpend', pid) + 5, pid);
  assert.equal(ticks(home.dir, 'sigpend').fails, []);
  await killAll(as, 'sigpend');
});

test('durun check says which kernel objects are carried, and whether POSIX timers can be', () => {
  const out = JSON.parse(durunOk(as, ['check', '--json'])) as { checks: Array<{ name: string; ok: boolean; verdict: string; detail: string }> };
  const timers = out.checks.find((c) => c.name === 'posix-timers');
  const kobjs = out.checks.find((c) => c.name === 'kernel-objects');
  assert.ok(timers && kobjs, out.checks.map((c) => c.name).join(' '));
  // this machine has /proc/self/timers (KERNEL-NOTES.md: CONFIG_CHECKPOINT_RESTORE=y)
  assert.is(timers.ok, true, timers.detail);
  assert.match(timers.verdict, /are carried/);
  for (const what of [/memfds/, /inotify watches \(paths recorded as libc adds them/, /pending signals/, /events queued but unread are lost/, /raw system call/]) assert.match(kobjs.verdict, what);
});

test.run();
