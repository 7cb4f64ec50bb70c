// Process-tree restore (native/, durun-restore --tree) against real
// processes: a parent and its forked child joined by a pipe and a shared
// anonymous page (and an ack socketpair back) are checkpointed at one barrier (each dumps from its own
// signal handler and stops itself until all have dumped), run on, are
// SIGKILLed, and restored together in one pid namespace. The child checks
// every record it reads (none lost, none repeated, including those that were
// in the pipe at the checkpoint); the parent checks, through the shared page,
// that it sees the child's progress. Runs as root and as an unprivileged user.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { BUILD } from './helpers/paths.js';
import { waitFor, isAlive } from './helpers/wait.js';
import { spawnCollected, deadline, type Spawned } from './helpers/spawned.js';
import { tempHome, type TempHome } from './helpers/home.js';
import { unprivilegedUser } from './helpers/user.js';

const RESTORE = path.join(BUILD, 'durun-restore');
const CKPT = path.join(BUILD, 'durun-ckpt');
const TREE = path.join(BUILD, 'ckpt-test-pipe-tree');
const CKPT_SIGNAL = 62;
const RECORDS = 3000;

interface User { uid: number; gid: number }
type Proc = Spawned;

const started: ChildProcess[] = [];
const extraPids: number[] = [];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, user: User | null): Proc {
  const argv = user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', cmd, ...args] : [cmd, ...args];
  return spawnCollected(argv, env, started);
}

function state(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return 'gone';
  }
}

function childRead(out: string): number {
  const m = [...out.matchAll(/^child read (\d+)$/gm)];
  return m.length ? Number(m[m.length - 1][1]) : 0;
}

/** The group barrier: stop all, queue the checkpoint signal to each,
 * continue all; each dumps and stops itself; when every one has dumped and
 * stopped, continue them all. Returns each process's image and counter. */
async function groupCheckpoint(p: Proc, pids: number[], seq = 1): Promise<Map<number, { image: string; counter: number; kind: number }>> {
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  await waitFor('group stopped', () => pids.every((pid) => state(pid) === 'T'));
  for (const pid of pids) process.kill(pid, CKPT_SIGNAL);
  for (const pid of pids) process.kill(pid, 'SIGCONT');
  const images = new Map<number, { image: string; counter: number; kind: number }>();
  await waitFor('every member dumped and stopped at the barrier', () => {
    if (/^harness: dump failed: /m.test(p.err)) throw new Error(p.err);
    for (const m of p.err.matchAll(new RegExp(`^harness: dumped (\\S+ckpt-(\\d+)-${seq}\\.img) kind=(\\d) counter=(\\d+) `, 'gm')))
      images.set(Number(m[2]), { image: m[1], counter: Number(m[4]), kind: Number(m[3]) });
    return pids.every((pid) => images.has(pid) && state(pid) === 'T');
  });
  for (const pid of pids) process.kill(pid, 'SIGCONT');
  return images;
}

async function scenario(user: User | null, seqpacket: boolean, incremental = false) {
  const home: TempHome = tempHome('durun-tree-');
  if (user) chownSync(home.dir, user.uid, user.gid);
  try {
    const env = { ...home.env, CKPT_DIR: home.dir, CKPT_TREE: '1', RECORDS: String(RECORDS), ACK_SEQPACKET: seqpacket ? '1' : '0', CKPT_TRACK: incremental ? '1' : '0' };
    const p = run(TREE, [], env, user);
    const ready = await waitFor('tree ready', () => p.out.match(/^ready parent=(\d+) ppid=(\d+) child=(\d+)$/m));
    const [parent, origPpid, child] = [Number(ready[1]), Number(ready[2]), Number(ready[3])];
    extraPids.push(child);
    await waitFor('child read 300 records', () => childRead(p.out) >= 300);
    let images = await groupCheckpoint(p, [parent, child]);
    if (incremental) {
      const first = images.get(child)!.counter;
      await waitFor('group runs on to a second barrier', () => childRead(p.out) >= first + 100);
      images = await groupCheckpoint(p, [parent, child], 2);
      for (const [pid, im] of images) assert.is(im.kind, 2, `second image of ${pid} is incremental`);
    }
    const pc = images.get(parent)!;
    const cc = images.get(child)!;
    assert.ok(pc.counter > cc.counter, `records in flight at the checkpoint: written ${pc.counter}, read ${cc.counter}`);
    // the image says so too: the pipe's bytes in flight were saved
    const insp = JSON.parse(spawnSync(CKPT, ['inspect', cc.image, '--json'], { encoding: 'utf8' }).stdout);
    assert.is(insp.version, 3);
    const inFlight = Math.max(...insp.pipes.map((x: { inFlight: number }) => x.inFlight));
    // each side updates its counter just after its write()/read(), so a
    // checkpoint between the two leaves that side's counter one record behind
    const skew = inFlight / 16 - (pc.counter - cc.counter);
    assert.ok(inFlight % 16 === 0 && inFlight > 0 && Math.abs(skew) <= 1,
      `PIPE record holds the unread records: ${inFlight} bytes, written ${pc.counter}, read ${cc.counter}`);
    // the ack socketpair: each end names the other as its peer (fds 1-2 are
    // node's socketpairs too, with the peer outside the set)
    type Unix = { ino: number; peer: number; type: number };
    const pinsp = JSON.parse(spawnSync(CKPT, ['inspect', pc.image, '--json'], { encoding: 'utf8' }).stdout);
    const pu = (pinsp.unix as Unix[]).find((a) => (insp.unix as Unix[]).some((b) => b.ino === a.peer && b.peer === a.ino));
    assert.ok(pu, `UNIX records pair up: ${JSON.stringify([pinsp.unix, insp.unix])}`);
    assert.is(pu!.type, seqpacket ? 5 : 1);
    await waitFor('group runs on past the checkpoint', () => childRead(p.out) >= cc.counter + 200);
    const killedAt = childRead(p.out);
    process.kill(parent, 'SIGKILL');
    process.kill(child, 'SIGKILL');
    await p.exit;
    await waitFor('killed group gone', () => !isAlive(parent) && !isAlive(child));

    const dup = spawnSync(RESTORE, ['--tree', pc.image, pc.image], { encoding: 'utf8', env: home.env });
    assert.is(dup.status, 1, 'the same process twice is refused');
    assert.match(dup.stderr, /both hold pid/);
    const pidfile = path.join(home.dir, 'root.pid');
    const pidsfile = path.join(home.dir, 'pids');
    const r = run(RESTORE, ['--pidfile', pidfile, '--pids', pidsfile, '--tree', pc.image, cc.image], home.env, user);
    restoredPidfiles.push(pidsfile);
    const done = await Promise.race([r.exit, deadline('the restored tree to finish', 30_000)]);
    assert.is(done.code, 0, `durun-restore exit code (stderr: ${r.err}\nstdout: ${r.out})`);
    assert.match(r.err, /^durun-restore: restored tree of 2 processes in \d+ ms, root pid (\d+)/m);
    // root: memory streamed in through one userfaultfd per process (lazy restore)
    if (!user) assert.match(r.err, /^durun-restore: all memory back \d+ ms after start \(lazy restore: /m, 'root: the tree was restored lazily');
    assert.match(r.err, new RegExp(`^harness: restored counter=${pc.counter} pid=${parent} ppid=${origPpid}$`, 'm'), 'parent: same pid and ppid');
    assert.match(r.err, new RegExp(`^harness: restored counter=${cc.counter} pid=${child} ppid=${parent}$`, 'm'), 'child: same pid, parent is the parent');
    assert.not.match(r.out, /FAIL/);
    assert.match(r.out, new RegExp(`^PASS child records=${RECORDS} sum=${(RECORDS * (RECORDS + 1)) / 2} pid=${child} ppid=${parent}$`, 'm'));
    assert.match(r.out, new RegExp(`^PASS parent records=${RECORDS} acks=${RECORDS / 10} pid=${parent} ppid=${origPpid} child=${child}$`, 'm'));
    const firstAfter = Number(r.out.match(/^child read (\d+)$/m)?.[1] ?? -1);
    assert.ok(firstAfter >= cc.counter && firstAfter <= cc.counter + 100 && firstAfter < killedAt + 100,
      `child resumed reading at the checkpoint (${cc.counter}), first report ${firstAfter}, killed at ${killedAt}`);
    const pids = readFileSync(pidsfile, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
    assert.equal(pids.map((x) => x[0]).sort(), [parent, child].sort(), 'pids file names both');
    assert.is(Number(readFileSync(pidfile, 'utf8')), pids.find((x) => x[0] === parent)![1], 'pidfile = root outside');
  } finally {
    home.cleanup();
  }
}

const restoredPidfiles: string[] = [];

test.after.each(() => {
  for (const f of restoredPidfiles.splice(0)) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').trim().split('\n')) {
      const outer = Number(line.split(' ')[1]);
      if (outer > 0 && isAlive(outer)) process.kill(outer, 'SIGKILL');
    }
  }
  for (const pid of extraPids.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

test('pipe + stream socketpair + shared page tree: barrier dump, run on, SIGKILL all, --tree restores pids, parents, data in flight and sharing (root)', async () => {
  await scenario(null, false);
});

test('same tree with a SOCK_SEQPACKET socketpair, as an unprivileged user (user + pid namespace)', async () => {
  const u = unprivilegedUser();
  if (typeof u === 'string') {
    console.log(`  skipped: ${u}`);
    return;
  }
  await scenario(u, true);
});

test('incremental images at a second barrier: --tree restores each member through its chain (root)', async () => {
  await scenario(null, false, true);
});

test('one member failing before its restorer: nobody resumes, the tree is killed, exit 1 (root)', async () => {
  const home: TempHome = tempHome('durun-tree-');
  try {
    // the program's stdout is a file this time: deleting it makes the reopen fail in both members
    const outPath = path.join(home.dir, 'out');
    const fd = openSync(outPath, 'w');
    const env = { ...home.env, CKPT_DIR: home.dir, CKPT_TREE: '1', RECORDS: '100000' };
    const child = spawn(TREE, [], { env, stdio: ['ignore', fd, 'pipe'] });
    closeSync(fd);
    started.push(child);
    const p: Proc = { child, out: '', err: '', exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))) };
    child.stderr!.on('data', (d) => (p.err += d));
    const ready = await waitFor('tree ready', () => readFileSync(outPath, 'utf8').match(/^ready parent=(\d+) ppid=(\d+) child=(\d+)$/m));
    const [parent, kid] = [Number(ready[1]), Number(ready[3])];
    extraPids.push(kid);
    await waitFor('child read 100 records', () => childRead(readFileSync(outPath, 'utf8')) >= 100);
    const images = await groupCheckpoint(p, [parent, kid]);
    process.kill(parent, 'SIGKILL');
    process.kill(kid, 'SIGKILL');
    await waitFor('killed group gone', () => !isAlive(parent) && !isAlive(kid));
    unlinkSync(outPath);
    const t0 = Date.now();
    const r = spawnSync(RESTORE, ['--tree', images.get(parent)!.image, images.get(kid)!.image], { encoding: 'utf8', env: home.env, timeout: 30_000 });
    assert.is(r.status, 1, r.stderr);
    assert.ok(/files: reopen fd 1: .*out: No such file or directory/.test(r.stderr), r.stderr);
    assert.match(r.stderr, /tree: process \d+ failed before its restorer; the whole tree was killed/);
    assert.not.match(r.stderr, /harness: restored/, 'no member resumed');
    assert.ok(Date.now() - t0 < 10_000, 'failure reported promptly');
  } finally {
    home.cleanup();
  }
});

test('--tree: usage error, a missing image, --log and --stdout', () => {
  const r = spawnSync(RESTORE, ['--tree'], { encoding: 'utf8' });
  assert.is(r.status, 2, 'usage');
  const missing = spawnSync(RESTORE, ['--tree', '/nonexistent/a.img'], { encoding: 'utf8' });
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /refusing to restore: \/nonexistent\/a\.img: cannot open image/);
  // --log: our stderr (and the tree's fds 0-2 to the outside) go to the file
  const home = tempHome('durun-tree-');
  try {
    const log = path.join(home.dir, 'restore.log');
    const logged = spawnSync(RESTORE, ['--log', log, '--tree', '/nonexistent/a.img'], { encoding: 'utf8' });
    assert.is(logged.status, 1);
    assert.is(logged.stderr, '');
    assert.match(readFileSync(log, 'utf8'), /refusing to restore: \/nonexistent\/a\.img: cannot open image/);
    const badFd = spawnSync(RESTORE, ['--stdout', '99', '--tree', '/nonexistent/a.img'], { encoding: 'utf8' });
    assert.is(badFd.status, 1);
    assert.match(badFd.stderr, /--stdout 99: not an open fd/);
  } finally {
    home.cleanup();
  }
});

test.run();
