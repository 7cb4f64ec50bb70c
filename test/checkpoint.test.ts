// Issue 3 end to end, as root: programs run under durun, are checkpointed
// with `durun checkpoint`, run on, are killed with SIGKILL (every process),
// and `durun restore` must bring them back at the checkpointed state: not
// from scratch, not from later, same pid, state verified by the programs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, utimesSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { shutdownAll } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';
import { CKPT_FIXTURES, checkpoint, checkpointKillRestore, compile, durun, durunOk, killAll, lastTick, logFiles, logMark, psOf, ticks, runningPids, waitTick, type As, rootWorkspace } from './helpers/checkpoint.js';

const { home, as, bin, cleanup } = rootWorkspace('durun-ck');
test.after(cleanup);
const COUNTER = compile('counter.c', 'counter', bin);
const THREADS = compile('threads.c', 'threads', bin, ['-pthread']);

/** Starts a detached program in group and returns the pid of its (single) process. */
async function start(group: string, cmd: string[], extra: string[] = []): Promise<number> {
  durunOk(as, ['run', '--detach', '--group', group, ...extra, '--', ...cmd]);
  return waitFor(`${group} running`, () => runningPids(as, group)[0], 10_000);
}

test('C counter: heap list and file offset come back; the running instance is stopped first', async () => {
  const data = path.join(bin, 'counter.dat');
  const pid = await start('counter', [COUNTER, data, '20']);
  const r = await checkpointKillRestore(as, 'counter', pid);
  assert.ok(r.cp.bytes > 0 && r.cp.id, 'checkpoint reports id and bytes');
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
  // on-crash restarted it from scratch after the kill; restore stopped that instance.
  const programs = psOf(as, 'counter')!.processes.filter((p) => p.state === 'running' && !p.exe.endsWith('/durun-restore'));
  assert.equal(programs.map((p) => p.argv[0]), [COUNTER], 'only the restored instance runs');
  // The file goes on at the restored offset: the 20-byte record k holds k. (The
  // fresh instance on-crash started after the kill truncated the file, so the
  // records before the restored offset may be a hole: read by offset, not by line.)
  const now = await waitTick(home.dir, 'counter', r.resumed + 10, pid);
  const file = readFileSync(data);
  const record = (k: number) => Number(file.subarray((k - 1) * 20, k * 20 - 1).toString());
  for (const k of [r.resumed, now]) assert.is(record(k), k, `record ${k} of ${data} (resumed ${r.resumed}, checkpoint between ${r.before} and ${r.after})`);
});

test('C program with 4 threads and a mutex', async () => {
  const pid = await start('threads', [THREADS, '20'], ['--restart', 'never']);
  const r = await checkpointKillRestore(as, 'threads', pid);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
});

test('python3 program holding a dict', async () => {
  const pid = await start('py', ['/usr/bin/python3', path.join(CKPT_FIXTURES, 'dict.py'), '20'], ['--restart', 'never']);
  const r = await checkpointKillRestore(as, 'py', pid);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
});

test('checkpoints lists them; incremental after the first; inspect and check', async () => {
  const pid = await start('lister', [COUNTER, path.join(bin, 'lister.dat'), '20'], ['--restart', 'never']);
  await waitTick(home.dir, 'lister', 3, pid);
  const a = checkpoint(as, 'lister');
  const b = checkpoint(as, 'lister');
  assert.equal(a.kinds, ['full']);
  assert.equal(b.kinds, ['incremental']);
  const list = JSON.parse(durunOk(as, ['checkpoints', 'lister', '--json'])) as { checkpoints: Array<{ id: string; parent: string | null }> };
  assert.equal(list.checkpoints.map((c) => c.id), [a.id, b.id]);
  assert.is(list.checkpoints[1]!.parent, a.id);
  assert.ok((statSync(b.dir).mode & 0o777) === 0o700, 'checkpoint dir 0700');
  const img = path.join(b.dir, `${pid}.img`);
  assert.ok((statSync(img).mode & 0o777) === 0o600, 'image 0600');
  const insp = JSON.parse(durunOk(as, ['inspect', img, '--json'])) as { ok: boolean; header: { kind: string; pid: number } };
  assert.ok(insp.ok);
  assert.is(insp.header.pid, pid);
  assert.match(durunOk(as, ['inspect', b.dir]), /incremental/);
  const check = durun(as, ['check', '--json']);
  assert.match(check.stdout, /userfaultfd/);
  await killAll(as, 'lister');
});

test('a corrupted image: restore refuses and names the file; a changed binary too', async () => {
  const exe = path.join(bin, 'counter-copy');
  copyFileSync(COUNTER, exe);
  const pid = await start('corrupt', [exe, path.join(bin, 'corrupt.dat'), '20'], ['--restart', 'never']);
  await waitTick(home.dir, 'corrupt', 3, pid);
  const cp = checkpoint(as, 'corrupt');
  await killAll(as, 'corrupt');
  const img = path.join(cp.dir, `${pid}.img`);
  const fd = openSync(img, 'r+');
  const byte = Buffer.alloc(1);
  const at = Math.floor(statSync(img).size / 2);
  readSync(fd, byte, 0, 1, at);
  byte[0] = byte[0]! ^ 0xff;
  writeSync(fd, byte, 0, 1, at);
  closeSync(fd);
  let r = durun(as, ['restore', 'corrupt']);
  assert.is(r.code, 1);
  assert.match(r.stderr, img);
  assert.match(r.stderr, /checksum/);
  // A lazy restore starts the program and finds the bad page while streaming it in: it is ended again.
  await waitFor('what the refused restore started is gone', () => runningPids(as, 'corrupt').length === 0, 15_000);
  // Put it back; now change the binary's mtime.
  const fd2 = openSync(img, 'r+');
  byte[0] = byte[0]! ^ 0xff;
  writeSync(fd2, byte, 0, 1, at);
  closeSync(fd2);
  utimesSync(exe, new Date(), new Date(Date.now() + 5000));
  r = durun(as, ['restore', 'corrupt']);
  assert.is(r.code, 1);
  assert.match(r.stderr, exe);
  assert.match(r.stderr, /changed/);
  assert.is(runningPids(as, 'corrupt').length, 0, 'nothing was started');
});

test('a TCP connection to outside the group comes back closed after a restore; the program sees end of stream and reconnects', async () => {
  let connections = 0;
  const server = net.createServer((c) => {
    connections++;
    c.on('error', () => { /* the restored side's end: a reset is as good as a FIN here */ });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const code = [
      'import socket,select,time,os',
      `def dial(): return socket.create_connection(("127.0.0.1",${port}))`,
      's=dial()', 'n=0',
      'while True:',
      ' n+=1',
      ' print(f"tick {n} pid {os.getpid()}",flush=True)',
      ' r,_,_=select.select([s],[],[],0.02)',
      ' if r and s.recv(100)==b"":',
      '  print("closed",flush=True); s.close(); s=dial(); print("reconnected",flush=True)',
    ].join('\n');
    const pid = await start('tcp', ['/usr/bin/python3', '-c', code], ['--restart', 'never']);
    await waitTick(home.dir, 'tcp', 3, pid);
    await waitFor('the program connected', () => connections === 1);
    const cp = checkpoint(as, 'tcp');
    assert.ok(cp.id, 'a process holding a TCP connection is checkpointed');
    await killAll(as, 'tcp');
    const r = durun(as, ['restore', 'tcp']);
    assert.is(r.code, 0, r.stderr);
    await waitFor('the restored program reconnected', () => connections === 2, 10_000);
    const log = logFiles(home.dir, 'tcp').map((f) => readFileSync(path.join(home.dir, 'logs', f), 'utf8')).join('');
    assert.match(log, /comes back closed/, 'durun-restore says the connection came back closed');
    const closedAt = log.indexOf(' stdout closed\n');
    assert.ok(closedAt >= 0 && log.indexOf(' stdout reconnected\n', closedAt) > closedAt, 'the program saw end of stream, then reconnected');
    await killAll(as, 'tcp');
  } finally {
    server.close();
  }
});

test('an event loop: epoll with its interest list, eventfd, timerfd, signalfd, a listening socket and file locks come back and keep working', async () => {
  const KOBJ = compile('kobj.c', 'kobj', bin);
  const pid = await start('kobj', [KOBJ, path.join(bin, 'kobj.lock')], ['--restart', 'never']);
  const r = await checkpointKillRestore(as, 'kobj', pid);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
  await killAll(as, 'kobj');
});

test('a 20-process tree under ulimit -n 64 restores within its own fd limit, every pid kept', async () => {
  const script = 'ulimit -n 64; for i in $(seq 19); do (exec 5</dev/null 6</dev/null; while :; do sleep 1; done) & done; wait';
  durunOk(as, ['run', '--detach', '--group', 'lowfd', '--restart', 'never', '--', 'bash', '-c', script]);
  const shells = () => (psOf(as, 'lowfd')?.processes ?? []).filter((p) => p.state === 'running' && p.argv[0] === 'bash').map((p) => p.pid).sort((a, b) => a - b);
  const before = await waitFor('20 shells up and linked', () => shells().length === 20 && checkpoint(as, 'lowfd') ? shells() : undefined, 15_000, 200);
  await killAll(as, 'lowfd');
  durunOk(as, ['restore', 'lowfd']);
  const after = await waitFor('20 shells restored', () => (shells().length === 20 ? shells() : undefined), 15_000);
  assert.is(after.length, before.length);
  await killAll(as, 'lowfd');
});

test('a damaged manifest is refused naming the file; a directory left uncommitted is removed by the next checkpoint', async () => {
  const pid = await start('mani', [COUNTER, path.join(bin, 'mani.dat'), '20'], ['--restart', 'never']);
  await waitTick(home.dir, 'mani', 3, pid);
  const first = checkpoint(as, 'mani');
  const groupDir = path.dirname(first.dir);
  // the stall as the program saw it (its signal to its threads running again) covers its own capture
  const m = JSON.parse(readFileSync(path.join(first.dir, 'manifest.json'), 'utf8')) as { stallMs: number; dumpStallMs: number; barrierMs: number };
  assert.ok(typeof m.barrierMs === 'number' && m.stallMs >= m.dumpStallMs, `stall ${m.stallMs} ms, capture ${m.dumpStallMs} ms, barrier ${m.barrierMs} ms`);
  // a copy of it with its manifest damaged in three ways
  const cases: Array<[string, string, RegExp]> = [
    ['notjson', '{"version":1,', /is not valid JSON/],
    ['empty', '', /is not valid JSON/],
    ['noprocs', JSON.stringify({ ...JSON.parse(readFileSync(path.join(first.dir, 'manifest.json'), 'utf8')), processes: [] }), /it names no process/],
  ];
  for (const [name, text, why] of cases) {
    const dir = path.join(groupDir, `2000${name}`);
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(path.join(dir, 'manifest.json'), text, { mode: 0o600 });
    const r = durun(as, ['restore', 'mani', '--from', `2000${name}`]);
    assert.is(r.code, 1, `${name}: ${r.stdout}`);
    assert.match(r.stderr, path.join(dir, 'manifest.json'));
    assert.match(r.stderr, why);
    assert.not.match(r.stderr, /    at /, 'no stack trace');
  }
  // half-written: images but no manifest, as after a supervisor killed mid-checkpoint
  const half = path.join(groupDir, '2001half');
  mkdirSync(half, { mode: 0o700 });
  writeFileSync(path.join(half, '123.img'), 'memory', { mode: 0o600 });
  checkpoint(as, 'mani');
  assert.not.ok(existsSync(half), 'the uncommitted directory is gone');
  await killAll(as, 'mani');
});

test('durun logs is one history across a restore: the restored program writes on in the log it had', async () => {
  const pid = await start('onelog', [COUNTER, path.join(bin, 'onelog.dat'), '20'], ['--restart', 'never']);
  const r = await checkpointKillRestore(as, 'onelog', pid);
  const text = durunOk(as, ['logs', 'onelog']);
  const ticks = [...text.matchAll(/tick (\d+) pid (\d+)/g)].map((m) => Number(m[1]));
  assert.ok(ticks.includes(1), 'the lines from before the checkpoint are there');
  assert.ok(ticks.filter((t) => t === r.resumed).length >= 1 && ticks.some((t) => t > r.resumed), 'and the restored program\'s lines after them');
  assert.match(text, /durun-restore: restored/);
  assert.is(logFiles(home.dir, 'onelog').length, 1, 'one log file');
  await killAll(as, 'onelog');
});

test('kill -9 of the supervisor mid-checkpoint: the previous checkpoint still restores', async () => {
  // A supervisor of its own, started with the fault armed for its 2nd checkpoint.
  const h2 = tempHome('durun-ckf-');
  const as2: As = { env: h2.env, home: h2.dir, wrap: (c) => c };
  try {
    const faulty = { ...h2.env, DURUN_FAULT: 'supervisor:before-commit@2' };
    durunOk(as2, ['run', '--detach', '--group', 'victim', '--restart', 'never', '--', COUNTER, path.join(bin, 'victim.dat'), '20'], { env: faulty });
    const pid = await waitFor('victim running', () => runningPids(as2, 'victim')[0], 10_000);
    await waitTick(h2.dir, 'victim', 5, pid);
    const first = checkpoint(as2, 'victim');
    const afterFirst = lastTick(h2.dir, 'victim', pid);
    const second = durun(as2, ['checkpoint', 'victim']);
    assert.is.not(second.code, 0, 'the second checkpoint cannot complete: its supervisor died');
    // The program runs on (its barrier aborted when the link closed) and leaves no image behind.
    const past = await waitTick(h2.dir, 'victim', lastTick(h2.dir, 'victim', pid) + 10, pid);
    const list = JSON.parse(durunOk(as2, ['checkpoints', 'victim', '--json'])) as { checkpoints: Array<{ id: string }> };
    assert.equal(list.checkpoints.map((c) => c.id), [first.id], 'only the first checkpoint is committed');
    await killAll(as2, 'victim');
    const mark = logMark(h2.dir, 'victim');
    durunOk(as2, ['restore', 'victim']);
    // The killed instance's last ticks (>= past) may still reach the log after the mark, through its runner;
    // the restored program's are the ones below past.
    const restoredTick = () => {
      const ns = ticks(h2.dir, 'victim', mark).ticks.map((t) => t.n).filter((n) => n < past);
      return ns.length ? Math.min(...ns) : 0;
    };
    const resumed = await waitFor('restored ticks', restoredTick, 15_000);
    assert.ok(resumed <= afterFirst + 1, `resumed at ${resumed}, the first checkpoint was at <= ${afterFirst}`);
  } finally {
    shutdownAll(h2.env);
    h2.cleanup();
  }
});

test.run();
