// Lazy restore (native/src/restore-lazy.c): durun-restore lets the program
// run before its private memory is back and streams it in through a
// userfaultfd. ckpt-test-lazy (native/tests/lazy.c) holds 64 MiB of
// patterned memory and 3 threads; the moment it resumes it forks (the child
// checks its copy), drops a range with MADV_DONTNEED (must read zero),
// mremap()s a region, has the kernel read from and write into unfilled
// pages, and checks every other byte. Also: DURUN_RESTORE_EAGER=1, a
// corrupted page record found while streaming, and an unprivileged user
// (no full userfaultfd here: eager, with the reason under -v).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BUILD } from './helpers/paths.js';
import { waitFor, isAlive } from './helpers/wait.js';
import { tempHome, type TempHome } from './helpers/home.js';
import { unprivilegedUser, type Unprivileged } from './helpers/user.js';
import { spawnCollected, deadline, type Spawned } from './helpers/spawned.js';

const RESTORE = path.join(BUILD, 'durun-restore');
const CKPT = path.join(BUILD, 'durun-ckpt');
const LAZY = path.join(BUILD, 'ckpt-test-lazy');
const CKPT_SIGNAL = 62;

type Proc = Spawned;

const started: ChildProcess[] = [];
const pidfiles: string[] = [];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, user: Unprivileged | null): Proc {
  return spawnCollected(user ? user.wrap([cmd, ...args]) : [cmd, ...args], env, started);
}

/** Starts the test program, checkpoints it once, SIGKILLs it; the image path. */
async function dumped(home: TempHome, user: Unprivileged | null, extra: NodeJS.ProcessEnv = {}): Promise<{ image: string; pid: number }> {
  const p = run(LAZY, [], { ...home.env, CKPT_DIR: home.dir, ...extra }, user);
  const ready = await waitFor('lazy test program ready', () => p.out.match(/^ready pid=(\d+) threads=3 heap=64 MiB$/m));
  process.kill(p.child.pid!, CKPT_SIGNAL);
  const line = await waitFor('its checkpoint', () => {
    if (/harness: dump failed/.test(p.err)) throw new Error(p.err);
    return p.err.match(/^harness: dumped (\S+) kind=1 .*threads=4 /m);
  });
  p.child.kill('SIGKILL');
  await p.exit;
  await waitFor('killed program gone', () => !isAlive(p.child.pid!));
  return { image: line[1]!, pid: Number(ready[1]) };
}

async function restore(image: string, home: TempHome, user: Unprivileged | null, env: NodeJS.ProcessEnv = {}): Promise<Proc & { code: number | null }> {
  const pidfile = path.join(home.dir, 'restored.pid');
  pidfiles.push(pidfile);
  const r = run(RESTORE, ['-v', '--pidfile', pidfile, image], { ...home.env, ...env }, user);
  const done = await Promise.race([r.exit, deadline('the restored program to finish', 60_000)]);
  return Object.assign(r, { code: done.code });
}

function homeFor(user: Unprivileged | null): TempHome {
  const home = tempHome('durun-lazy-');
  if (user) chownSync(home.dir, user.uid, user.gid);
  return home;
}

test.after.each(() => {
  for (const f of pidfiles.splice(0)) {
    const pid = existsSync(f) ? Number(readFileSync(f, 'utf8')) : 0;
    if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

test('lazy restore (root): fork, MADV_DONTNEED, mremap, kernel-mode faults, threads; every byte checked', async () => {
  if (process.getuid!() !== 0) return console.log('  skipped: lazy restore needs a full userfaultfd (root here)');
  const home = homeFor(null);
  try {
    const d = await dumped(home, null);
    const r = await restore(d.image, home, null);
    assert.is(r.code, 0, `durun-restore exit code (stderr: ${r.err}; stdout: ${r.out})`);
    assert.match(r.err, /durun-restore: lazy restore: [\d.]+ MiB of private memory will come through userfaultfd/, 'the lazy path was taken');
    assert.match(r.err, new RegExp(`^harness: restored counter=\\d+ pid=${d.pid} `, 'm'));
    const back = r.err.match(/^durun-restore: all memory back (\d+) ms after start \(lazy restore: ([\d.]+) MiB copied, (\d+) faults served, (\d+) zero pages, (\d+) forks followed/m);
    if (back) assert.ok(Number(back[2]) >= 64, 'at least the 64 MiB of the heap were streamed in');
    // A program that touched every page itself and ended before the filler got to the rest (a loaded machine) needed nothing more.
    else assert.match(r.err, /lazy: the restored processes ended before all their memory was back/, `the filler reported completion or the program's end (stderr: ${r.err})`);
    assert.match(r.out, new RegExp(`^PASS lazy pid=${d.pid} heap=64 MiB threads=3$`, 'm'), `program checked itself (stdout: ${r.out})`);
    assert.not.match(r.out, /FAIL/);
  } finally {
    home.cleanup();
  }
});

test('DURUN_RESTORE_EAGER=1: eager restore, the same checks pass', async () => {
  const home = homeFor(null);
  try {
    const d = await dumped(home, null);
    const r = await restore(d.image, home, null, { DURUN_RESTORE_EAGER: '1' });
    assert.is(r.code, 0, `durun-restore exit code (stderr: ${r.err})`);
    assert.match(r.err, /^durun-restore: eager restore: DURUN_RESTORE_EAGER=1$/m);
    assert.not.match(r.err, /all memory back|lazy restore:/);
    assert.match(r.out, /^PASS lazy /m, `program checked itself (stdout: ${r.out})`);
  } finally {
    home.cleanup();
  }
});

test('corrupted page record: found while streaming, the program is killed, exit 1 names file, record, offset', async () => {
  if (process.getuid!() !== 0) return console.log('  skipped: lazy restore needs a full userfaultfd (root here)');
  const home = homeFor(null);
  try {
    const d = await dumped(home, null, { LAZY_IDLE: '1' });
    const good = JSON.parse(spawnSync(CKPT, ['inspect', d.image, '--json'], { encoding: 'utf8' }).stdout);
    const pages = good.records.filter((r: { type: string }) => r.type === 'PAGES').sort((a: { length: number }, b: { length: number }) => b.length - a.length)[0];
    assert.ok(pages.length >= 64 << 20, 'the heap is the largest PAGES record');
    const bad = path.join(home.dir, 'bad.img');
    copyFileSync(d.image, bad);
    const buf = readFileSync(bad);
    buf[pages.offset + 24 + Math.floor(pages.length * 0.75)] ^= 0x5a;
    writeFileSync(bad, buf);
    const r = await restore(bad, home, null);
    assert.is(r.code, 1, `durun-restore exit code (stderr: ${r.err})`);
    assert.match(r.err, /durun-restore: lazy restore: /, 'the lazy path was taken (metadata verified up front, pages while streaming)');
    assert.match(r.err, `${bad}: record #${pages.index} (PAGES) at offset ${pages.offset}: page data checksum mismatch`);
    assert.match(r.err, /the restored processes were killed/);
    const pid = Number(readFileSync(path.join(home.dir, 'restored.pid'), 'utf8'));
    await waitFor('restored program gone', () => !isAlive(pid));
    // and eager refuses it before anything runs, as before
    const e = spawnSync(RESTORE, [bad], { encoding: 'utf8', env: { ...home.env, DURUN_RESTORE_EAGER: '1' } });
    assert.is(e.status, 1);
    assert.match(e.stderr, `refusing to restore: ${bad}: record #${pages.index} (PAGES) at offset ${pages.offset}: page data checksum mismatch`);
    assert.not.match(e.stderr, /restored pid/);
  } finally {
    home.cleanup();
  }
});

test('unprivileged user: no full userfaultfd, eager restore with the reason under -v', async () => {
  const user = unprivilegedUser();
  if (typeof user === 'string') return console.log(`  skipped: ${user}`);
  const home = homeFor(user);
  try {
    const d = await dumped(home, user);
    const r = await restore(d.image, home, user);
    assert.is(r.code, 0, `durun-restore exit code (stderr: ${r.err})`);
    const lazyOk = spawnSync('sysctl', ['-n', 'vm.unprivileged_userfaultfd'], { encoding: 'utf8' }).stdout.trim() === '1';
    if (!lazyOk) assert.match(r.err, /^durun-restore: eager restore: no full userfaultfd/m);
    assert.match(r.out, /^PASS lazy /m, `program checked itself (stdout: ${r.out})`);
  } finally {
    home.cleanup();
  }
});

test('crc32c (image checksums): the check value and the bitwise definition, long buffers included', () => {
  const r = spawnSync(path.join(BUILD, 'ckpt-test-crc'), [], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^PASS crc32c \d+ buffers$/m);
});

test.run();
