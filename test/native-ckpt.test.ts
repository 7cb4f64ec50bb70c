// Checkpoint/restore engine (native/) against real processes on the real
// kernel: a program counts, is checkpointed from inside (signal 62, the test
// harness calls durun_ckpt_dump), runs on, is killed with SIGKILL, and
// durun-restore must bring it back at the checkpointed value with its pid,
// heap, file offset and threads. Runs as root and as an unprivileged user.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BUILD } from './helpers/paths.js';
import { waitFor, isAlive } from './helpers/wait.js';
import { spawnCollected, deadline, type Spawned } from './helpers/spawned.js';
import { tempHome, type TempHome } from './helpers/home.js';

const RESTORE = path.join(BUILD, 'durun-restore');
const CKPT = path.join(BUILD, 'durun-ckpt');
const COUNTER = path.join(BUILD, 'ckpt-test-counter');
const THREADS = path.join(BUILD, 'ckpt-test-threads');
const CKPT_SIGNAL = 62; // SIGRTMAX-2, what the harness listens on
const TEST_USER = 'durun-test';

type Proc = Spawned;

/** Who runs the program and the restore: root (null) or an unprivileged uid. */
interface User {
  name: string;
  uid: number;
  gid: number;
}

/** Everything a test started, killed after each test even when it failed. */
const started: ChildProcess[] = [];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, user: User | null): Proc {
  const argv = user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', cmd, ...args] : [cmd, ...args];
  return spawnCollected(argv, env, started);
}

function lastTick(text: string): number {
  const m = [...text.matchAll(/^tick (\d+)$/gm)];
  return m.length ? Number(m[m.length - 1][1]) : 0;
}

function firstTick(text: string): number {
  const m = text.match(/^tick (\d+)$/m);
  return m ? Number(m[1]) : -1;
}

/** The unprivileged user, created on first use when we are root. */
function testUser(): User | string {
  if (process.getuid!() !== 0) return 'not root: cannot switch to another user';
  let id = spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' });
  if (id.status !== 0) {
    const add = spawnSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', TEST_USER], { encoding: 'utf8' });
    if (add.status !== 0) return `useradd ${TEST_USER} failed: ${add.stderr.trim()}`;
    id = spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' });
  }
  const gid = spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' });
  return { name: TEST_USER, uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function homeFor(user: User | null): TempHome {
  const home = tempHome('durun-ckpt-');
  if (user) chownSync(home.dir, user.uid, user.gid);
  return home;
}

interface Dumped {
  counter: number;
  image: string;
  kind: number;
  bytes: number;
}

/** Sends the checkpoint signal and waits for the harness's report number n
 * (failedBefore: dump failures already reported, expected by the caller). */
async function checkpoint(p: Proc, n: number, failedBefore = 0): Promise<Dumped> {
  process.kill(p.child.pid!, CKPT_SIGNAL);
  const line = await waitFor(`checkpoint ${n} of pid ${p.child.pid}`, () => {
    if ((p.err.match(/^harness: dump failed: /gm) ?? []).length > failedBefore) throw new Error(p.err);
    return [...p.err.matchAll(/^harness: dumped (\S+) kind=(\d) counter=(\d+) bytes=(\d+).*$/gm)][n - 1];
  });
  const d = { image: line[1], kind: Number(line[2]), counter: Number(line[3]), bytes: Number(line[4]) };
  assert.ok(existsSync(d.image), `image ${d.image} exists`);
  return d;
}

async function killHard(p: Proc): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exit;
  await waitFor('killed program gone', () => !isAlive(p.child.pid!));
}

/** Restores `image` and checks the restored program's first steps and end. */
/** maxAhead: how far the first tick printed after restore may be past the
 * checkpointed value (1 for the counter; the threads program's main thread
 * samples a total that 4 workers keep raising). `killedAt` is where the
 * original got before SIGKILL: the restored one must start below it. */
async function restoreAndCheck(image: string, home: TempHome, user: User | null, d: Dumped, origPid: number, origPpid: number,
  maxAhead: number, killedAt: number) {
  const pidfile = path.join(home.dir, 'restored.pid');
  const r = run(RESTORE, ['--pidfile', pidfile, image], home.env, user);
  restoredPidfiles.push(pidfile);
  const done = await Promise.race([r.exit, deadline('the restored program to finish', 30_000)]);
  assert.is(done.code, 0, `durun-restore exit code (stderr: ${r.err})`);
  assert.match(r.err, /durun-restore: restored pid (\d+)/);
  const restored = r.err.match(/^harness: restored counter=(\d+) pid=(\d+) ppid=(\d+)$/m);
  assert.ok(restored, `restored program reported itself (stderr: ${r.err})`);
  assert.is(Number(restored![1]), d.counter, 'continues from the checkpointed value');
  assert.is(Number(restored![2]), origPid, 'getpid() unchanged');
  assert.is(Number(restored![3]), origPpid, 'getppid() unchanged');
  const first = firstTick(r.out);
  assert.ok(first >= d.counter && first <= d.counter + maxAhead && first < killedAt,
    `first tick after restore ${first}, checkpoint at ${d.counter}, killed at ${killedAt}`);
  assert.match(r.out, /^PASS /m, 'program verified its own state to the end');
  assert.not.match(r.out, /FAIL/);
  return r;
}

async function counterScenario(user: User | null) {
  const home = homeFor(user);
  try {
    const data = path.join(home.dir, 'data');
    const env = { ...home.env, CKPT_DIR: home.dir, COUNTER_LIMIT: '400', TICK_US: '5000' };
    const p = run(COUNTER, [data], env, user);
    const ready = await waitFor('counter ready', () => p.out.match(/^ready pid=(\d+) ppid=(\d+)$/m));
    await waitFor('counter at 20', () => lastTick(p.out) >= 20);
    const d = await checkpoint(p, 1);
    assert.is(d.kind, 1, 'first image is full');
    await waitFor('counter runs on past the checkpoint', () => lastTick(p.out) >= d.counter + 20);
    await killHard(p);
    await restoreAndCheck(d.image, home, user, d, Number(ready[1]), Number(ready[2]), 1, lastTick(p.out));
    // the file was written at the restored offset: exactly 1..400, one per line
    const lines = readFileSync(data, 'utf8').trimEnd().split('\n').map(Number);
    assert.is(lines.length, 400);
    lines.forEach((v, i) => assert.is(v, i + 1, `data line ${i + 1}`));
  } finally {
    home.cleanup();
  }
}

async function threadsScenario(user: User | null) {
  const home = homeFor(user);
  try {
    const env = { ...home.env, CKPT_DIR: home.dir, TOTAL_LIMIT: '2500' };
    const p = run(THREADS, [], env, user);
    const ready = await waitFor('threads ready', () => p.out.match(/^ready pid=(\d+) ppid=(\d+)$/m));
    await waitFor('threads counted to 100', () => lastTick(p.out) >= 100);
    const d = await checkpoint(p, 1);
    assert.match(p.err, /threads=5 /, 'all 5 threads in the image');
    await waitFor('threads run on', () => lastTick(p.out) >= d.counter + 100);
    await killHard(p);
    const r = await restoreAndCheck(d.image, home, user, d, Number(ready[1]), Number(ready[2]), 60, lastTick(p.out));
    assert.match(r.out, /^PASS total=2500 /m, 'workers joined after restore');
  } finally {
    home.cleanup();
  }
}

const restoredPidfiles: string[] = [];

test.after.each(() => {
  // the restored program runs under another pid than durun-restore: its pidfile names it
  for (const f of restoredPidfiles.splice(0)) {
    const pid = existsSync(f) ? Number(readFileSync(f, 'utf8')) : 0;
    if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

test('counter: checkpoint, run on, SIGKILL, restore continues from the checkpoint (root)', async () => {
  await counterScenario(null);
});

test('4 pthreads + mutex: restore resumes every thread, join works (root)', async () => {
  await threadsScenario(null);
});

test('unprivileged user: counter and threads restore with the same pid (user + pid namespace)', async () => {
  const user = testUser();
  if (typeof user === 'string') {
    console.log(`  skipped: ${user}`);
    return;
  }
  await counterScenario(user);
  await threadsScenario(user);
});

test('incremental: second image carries only written pages and restores through the chain', async () => {
  const check = JSON.parse(spawnSync(CKPT, ['check', '--json'], { encoding: 'utf8' }).stdout);
  const uffd = check.checks.find((c: { name: string }) => c.name === 'userfaultfd-wp-async');
  const scan = check.checks.find((c: { name: string }) => c.name === 'pagemap-scan');
  if (!uffd.ok || !scan.ok) {
    console.log(`  skipped: ${uffd.ok ? scan.detail : uffd.detail}`);
    return;
  }
  const home = homeFor(null);
  try {
    const data = path.join(home.dir, 'data');
    const env = { ...home.env, CKPT_DIR: home.dir, CKPT_TRACK: '1', COUNTER_LIMIT: '400', BALLAST_MB: '32' };
    const p = run(COUNTER, [data], env, null);
    const ready = await waitFor('counter ready', () => p.out.match(/^ready pid=(\d+) ppid=(\d+)$/m));
    await waitFor('counter at 10', () => lastTick(p.out) >= 10);
    const full = await checkpoint(p, 1);
    await waitFor('counter at +10', () => lastTick(p.out) >= full.counter + 10);
    const incr = await checkpoint(p, 2);
    assert.is(full.kind, 1);
    assert.is(incr.kind, 2, 'second image is incremental');
    assert.ok(incr.bytes * 10 < full.bytes, `incremental ${incr.bytes} B vs full ${full.bytes} B`);
    await waitFor('counter runs on', () => lastTick(p.out) >= incr.counter + 20);
    await killHard(p);
    const merged = path.join(home.dir, 'merged.img');
    const m = spawnSync(CKPT, ['merge', incr.image, '-o', merged], { encoding: 'utf8' });
    assert.is(m.status, 0, m.stderr);
    assert.is(spawnSync(CKPT, ['inspect', merged], { encoding: 'utf8' }).status, 0, 'merged image verifies');
    const r = await restoreAndCheck(incr.image, home, null, incr, Number(ready[1]), Number(ready[2]), 1, lastTick(p.out));
    // root: restored lazily, each page from the image of the chain that carries it
    assert.match(r.err, /^durun-restore: all memory back \d+ ms after start \(lazy restore: /m, 'root: the chain was restored lazily');
  } finally {
    home.cleanup();
  }
});

test('corrupted image: restore refuses and names the file and the record', async () => {
  const home = homeFor(null);
  try {
    const env = { ...home.env, CKPT_DIR: home.dir, COUNTER_LIMIT: '100000' };
    const p = run(COUNTER, [path.join(home.dir, 'data')], env, null);
    await waitFor('counter at 5', () => lastTick(p.out) >= 5);
    const d = await checkpoint(p, 1);
    await killHard(p);
    const good = JSON.parse(spawnSync(CKPT, ['inspect', d.image, '--json'], { encoding: 'utf8' }).stdout);
    assert.is(good.ok, true);
    assert.ok(good.mappings.length > 5 && good.threads.length === 1);
    // flip one byte inside the largest PAGES payload
    const pages = good.records.filter((r: { type: string }) => r.type === 'PAGES').sort((a: { length: number }, b: { length: number }) => b.length - a.length)[0];
    const bad = path.join(home.dir, 'bad.img');
    copyFileSync(d.image, bad);
    const buf = readFileSync(bad);
    const at = pages.offset + 24 + Math.floor(pages.length / 2);
    buf[at] ^= 0xff;
    writeFileSync(bad, buf);
    const r = spawnSync(RESTORE, [bad], { encoding: 'utf8', env: home.env });
    assert.is(r.status, 1);
    assert.match(r.stderr, `${bad}: record #${pages.index} (PAGES) at offset ${pages.offset}: page data checksum mismatch`);
    const insp = JSON.parse(spawnSync(CKPT, ['inspect', bad, '--json'], { encoding: 'utf8' }).stdout);
    assert.is(insp.ok, false);
    assert.match(insp.error, `record #${pages.index} (PAGES)`);
    // a truncated image is refused too
    writeFileSync(bad, readFileSync(d.image).subarray(0, statSync(d.image).size - 10));
    const t = spawnSync(RESTORE, [bad], { encoding: 'utf8', env: home.env });
    assert.is(t.status, 1);
    assert.match(t.stderr, /truncated image|past the end/);
  } finally {
    home.cleanup();
  }
});

test('fault injection: a dump failing mid-way leaves no image, the program runs on, the next dump is full', async () => {
  const home = homeFor(null);
  try {
    const env = { ...home.env, CKPT_DIR: home.dir, CKPT_TRACK: '1', COUNTER_LIMIT: '100000', DURUN_FAULT: 'ckpt:memory@1' };
    const p = run(COUNTER, [path.join(home.dir, 'data')], env, null);
    await waitFor('counter at 5', () => lastTick(p.out) >= 5);
    process.kill(p.child.pid!, CKPT_SIGNAL);
    const failed = await waitFor('injected failure', () => p.err.match(/^harness: dump failed: (.*)$/m));
    assert.match(failed[1], /dump: fault injected at memory/);
    assert.not.ok(existsSync(path.join(home.dir, 'ckpt-1.img')), 'no image');
    assert.not.ok(existsSync(path.join(home.dir, 'ckpt-1.img.tmp')), 'no temporary file');
    const after = lastTick(p.out);
    await waitFor('program runs on', () => lastTick(p.out) >= after + 5);
    const d = await checkpoint(p, 1, 1);
    assert.is(d.kind, 1, 'after a failed dump the next image is full');
    assert.match(p.err, /reason=dirty tracking was not armed/);
    await killHard(p);
  } finally {
    home.cleanup();
  }
});

test('durun-ckpt check: every probe gives a verdict', () => {
  const r = spawnSync(CKPT, ['check', '--json'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const names = out.checks.map((c: { name: string }) => c.name);
  for (const n of ['userfaultfd-wp-async', 'pagemap-scan', 'soft-dirty', 'tcp-repair', 'clone3-set-tid', 'user-namespaces', 'ptrace-scope'])
    assert.ok(names.includes(n), `probe ${n}`);
  for (const c of out.checks) {
    assert.type(c.ok, 'boolean');
    assert.ok(c.verdict.length > 20, `${c.name} has a verdict`);
    console.log(`  ${c.name}: ${c.ok ? 'yes' : 'no'} (${c.detail})`);
  }
  const text = spawnSync(CKPT, ['check'], { encoding: 'utf8' });
  assert.match(text.stdout, /userfaultfd-wp-async +(yes|no) /);
});

test.run();
