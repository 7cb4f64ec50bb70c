// The C runner (launcher/c) against a fake supervisor: a real Unix socket
// server on $DURUN_HOME/supervisor.sock that plays the supervisor's side of
// the runner protocol (ARCHITECTURE.md, role `runner`), so every message the
// runner sends and every answer it gets is under the test's control.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as pty from 'node-pty';
import { tempHome, type TempHome } from './helpers/home.js';
import { DURUN_BIN, LIBDURUN } from './helpers/paths.js';
import { isAlive, waitFor } from './helpers/wait.js';

type Msg = Record<string, any> & { op: string };
type Answer = (msg: Msg) => Msg | undefined;

/** Answers instance-end with finish and the program's own code. */
const finishWithStatus: Answer = (m) => ({ op: 'finish', code: m.signal ? 128 + m.signal : m.status });

/** Plays the supervisor: accepts runners, records what they say, answers
 * instance-end through `decide`. Interceptor (role proc) links are accepted
 * and ignored, so the test works with or without libdurun.so. */
class FakeSupervisor {
  readonly runnerMsgs: Msg[] = [];
  decide: Answer = finishWithStatus;
  /** Answer to a runner's hello; undefined: accept it. */
  refuse: string | undefined;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private runner: net.Socket | undefined;

  constructor(readonly home: string) {}
  get sock(): string { return path.join(this.home, 'supervisor.sock'); }

  listen(): Promise<void> {
    if (existsSync(this.sock)) unlinkSync(this.sock);
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.sock, () => resolve());
    });
  }

  /** Stops listening and breaks every link, like a crashed supervisor. */
  async crash(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.runner = undefined;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    if (existsSync(this.sock)) unlinkSync(this.sock);
  }

  send(msg: Msg): void {
    if (!this.runner) throw new Error('no runner connected');
    this.runner.write(JSON.stringify({ v: 1, ...msg }) + '\n');
  }

  /** The first recorded runner message (from index `from`) that matches. */
  next(what: string, match: (m: Msg) => boolean, from = 0): Promise<Msg> {
    return waitFor(what, () => this.runnerMsgs.slice(from).find(match));
  }

  private accept(s: net.Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined); // a runner or process that goes away mid-line is expected here
    let buf = '';
    let role = '';
    s.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl)) as Msg;
        buf = buf.slice(nl + 1);
        if (!role) role = msg.role;
        if (role === 'runner') this.onRunner(s, msg);
      }
    });
  }

  private onRunner(s: net.Socket, msg: Msg): void {
    this.runnerMsgs.push(msg);
    if (msg.op === 'hello' && this.refuse) {
      s.write(JSON.stringify({ v: 1, op: 'error', message: this.refuse }) + '\n');
    } else if (msg.op === 'hello') {
      this.runner = s;
      const program = msg.readopt ? msg.program : 1;
      const reply = { op: 'accepted', program, instance: msg.readopt ? msg.instance : 1,
        logPath: path.join(this.home, 'logs', `${msg.group}.${program}.log`) };
      s.write(JSON.stringify({ v: 1, ...reply }) + '\n');
    } else if (msg.op === 'instance-end') {
      const answer = this.decide(msg);
      if (answer) s.write(JSON.stringify({ v: 1, ...answer }) + '\n');
    }
  }
}

interface Run { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> }

const started: number[] = [];
const homes: TempHome[] = [];
const sups: FakeSupervisor[] = [];
const scratch = path.join(os.tmpdir(), `durun-runner-${process.pid}`);
mkdirSync(scratch, { recursive: true });

/** A private home whose fake supervisor is listening before durun runs, so
 * durun never starts a real one (DURUN_NODE=/bin/false makes sure). */
async function setup(): Promise<{ sup: FakeSupervisor; env: NodeJS.ProcessEnv; home: string }> {
  const h = tempHome('durun-rt-');
  homes.push(h);
  const sup = new FakeSupervisor(h.dir);
  sups.push(sup);
  await sup.listen();
  const env: NodeJS.ProcessEnv = { ...h.env, DURUN_NODE: '/bin/false' };
  if (existsSync(LIBDURUN)) env.DURUN_LIB = LIBDURUN;
  else env.DURUN_LIB = emptyLib();
  return { sup, env, home: h.dir };
}

/** Stand-in for libdurun.so while it is not built: an empty shared object. */
function emptyLib(): string {
  const lib = path.join(scratch, 'empty.so');
  if (!existsSync(lib)) {
    writeFileSync(path.join(scratch, 'empty.c'), 'int durun_test_empty;\n');
    const cc = spawnSync('cc', ['-shared', '-fPIC', '-o', lib, path.join(scratch, 'empty.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cannot build the stand-in preload library: ${cc.stderr}`);
  }
  return lib;
}

function durun(env: NodeJS.ProcessEnv, args: string[]): Run {
  const child = spawn(DURUN_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid) started.push(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 + os.constants.signals[signal] : null), stdout, stderr }));
  });
  return { child, done };
}

const file = (name: string) => path.join(scratch, `${name}-${Math.random().toString(36).slice(2)}`);
const readPid = (f: string) => waitFor(`pid in ${f}`, () => (existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) || undefined : undefined));
const ppidOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
const ops = (sup: FakeSupervisor) => sup.runnerMsgs.map((m) => m.op);
/** Shell loop that waits, without a fixed sleep length mattering, for file f. */
const waitFile = (f: string) => `while [ ! -e ${f} ]; do sleep 0.01; done`;

test.after(async () => {
  for (const sup of sups) await sup.crash();
  for (const pid of started) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (const h of homes) h.cleanup();
  spawnSync('rm', ['-rf', scratch]);
});

test('durun -- true: hello, started, child-exit, instance-end, exit 0', async () => {
  const { sup, env } = await setup();
  const run = durun(env, ['--', 'true']);
  const res = await run.done;
  assert.is(res.code, 0, res.stderr);
  assert.equal(ops(sup), ['hello', 'started', 'child-exit', 'instance-end']);
  const [hello, st, exit, end] = sup.runnerMsgs as [Msg, Msg, Msg, Msg];
  assert.is(hello.role, 'runner');
  assert.is(hello.pid, run.child.pid);
  assert.is(hello.group, 'true');
  assert.equal(hello.argv, ['true']);
  assert.is(hello.restart, 'on-crash');
  assert.is(hello.detached, false);
  assert.is(hello.tty, false);
  assert.is(st.instance, 1);
  assert.equal(exit, { v: 1, op: 'child-exit', pid: st.pid, root: true, status: 0, instance: 1 });
  assert.equal(end, { v: 1, op: 'instance-end', instance: 1, status: 0 });
});

test('options reach hello; exit status 3 passes through', async () => {
  const { sup, env } = await setup();
  const res = await durun(env, ['run', '--group', 'g1', '--restart', 'always', '--backoff', '10', '--backoff-max=20',
    '--max-restarts', '2', '--restart-window', '1000', 'sh', '-c', 'exit 3']).done;
  assert.is(res.code, 3, res.stderr);
  const hello = sup.runnerMsgs[0]!;
  assert.is(hello.group, 'g1');
  assert.is(hello.restart, 'always');
  assert.is(hello.backoffMs, 10);
  assert.is(hello.backoffMaxMs, 20);
  assert.is(hello.maxRestarts, 2);
  assert.is(hello.restartWindowMs, 1000);
  assert.equal(sup.runnerMsgs.at(-1), { v: 1, op: 'instance-end', instance: 1, status: 3 });
});

test('killed by SIGKILL: instance-end says signal 9, finish 137 exits 137', async () => {
  const { sup, env } = await setup();
  const res = await durun(env, ['--', 'sh', '-c', 'kill -9 $$']).done;
  assert.is(res.code, 137, res.stderr);
  assert.equal(sup.runnerMsgs.at(-1), { v: 1, op: 'instance-end', instance: 1, signal: 9 });
});

test('missing command exits 127 and non-executable 126, before any hello', async () => {
  const { sup, env } = await setup();
  const missing = await durun(env, ['--', 'no-such-command-durun-xyz']).done;
  assert.is(missing.code, 127);
  assert.is(missing.stderr, 'durun: no-such-command-durun-xyz: command not found\n');
  const plain = file('plain');
  writeFileSync(plain, 'not a program\n');
  chmodSync(plain, 0o644);
  const noexec = await durun(env, ['--', plain]).done;
  assert.is(noexec.code, 126);
  assert.match(noexec.stderr, /Permission denied/);
  assert.is(sup.runnerMsgs.length, 0);
});

test('usage errors exit 2 with one line', async () => {
  const { sup, env } = await setup();
  for (const args of [['run'], ['--restart', 'sometimes', '--', 'true'], ['run', '--backoff', 'x', 'true'], ['run', '--bogus', 'true']]) {
    const res = await durun(env, args).done;
    assert.is(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.is(res.stderr.split('\n').length, 2, res.stderr);
    assert.match(res.stderr, /^durun: /);
  }
  assert.is(sup.runnerMsgs.length, 0);
});

test('an error answer to hello is printed and durun exits 1 without starting the program', async () => {
  const { sup, env } = await setup();
  sup.refuse = 'group g is stopping; try again';
  const marker = file('marker');
  const res = await durun(env, ['--group', 'g', '--', 'touch', marker]).done;
  assert.is(res.code, 1);
  assert.is(res.stderr, 'durun: group g is stopping; try again\n');
  assert.not.ok(existsSync(marker), 'the program ran anyway');
});

test('a DURUN_HOME open to others is refused with a fix', async () => {
  const { env } = await setup();
  const open = file('home');
  mkdirSync(open, { mode: 0o755 });
  chmodSync(open, 0o755);
  const res = await durun({ ...env, DURUN_HOME: open }, ['--', 'true']).done;
  assert.is(res.code, 1);
  assert.is(res.stderr, `durun: DURUN_HOME ${open} is open to group or others (mode 755); run chmod 700 ${open}\n`);
});

test('restart answer starts instance 2 with a new pid and DURUN_INSTANCE=2', async () => {
  const { sup, env } = await setup();
  sup.decide = (m) => (m.instance === 1 ? { op: 'restart', delayMs: 20, instance: 2 } : finishWithStatus(m));
  const res = await durun(env, ['--', 'sh', '-c', 'echo "instance=$DURUN_INSTANCE program=$DURUN_PROGRAM group=$DURUN_GROUP"; exit 4']).done;
  assert.is(res.code, 4, res.stderr);
  assert.is(res.stdout, 'instance=1 program=1 group=sh\ninstance=2 program=1 group=sh\n');
  const starts = sup.runnerMsgs.filter((m) => m.op === 'started');
  assert.is(starts.length, 2);
  assert.is(starts[1]!.instance, 2);
  assert.is.not(starts[0]!.pid, starts[1]!.pid);
  assert.equal(sup.runnerMsgs.at(-1), { v: 1, op: 'instance-end', instance: 2, status: 4 });
});

test('an orphan of a double fork is adopted, reaped and reported; the instance waits for it', async () => {
  const { sup, env } = await setup();
  const pidFile = file('orphan');
  const go = file('go');
  const run = durun(env, ['--', 'sh', '-c', `(sh -c 'echo $$ > ${pidFile}; ${waitFile(go)}; exit 5' &) ; exit 0`]);
  const rootExit = await sup.next('root child-exit', (m) => m.op === 'child-exit' && m.root);
  const orphan = await readPid(pidFile);
  await waitFor('orphan re-parented to the runner', () => ppidOf(orphan) === run.child.pid);
  assert.is(rootExit.status, 0);
  assert.not.ok(ops(sup).includes('instance-end'), 'instance must not end while the orphan lives');
  writeFileSync(go, '');
  const orphanExit = await sup.next('orphan child-exit', (m) => m.op === 'child-exit' && m.pid === orphan);
  assert.equal(orphanExit, { v: 1, op: 'child-exit', pid: orphan, root: false, status: 5, instance: 1 });
  const res = await run.done;
  assert.is(res.code, 0, res.stderr);
  assert.equal(sup.runnerMsgs.at(-1), { v: 1, op: 'instance-end', instance: 1, status: 0 });
});

test('kill message: the whole tree gets the signal, a TERM-ignoring orphan gets SIGKILL after graceMs', async () => {
  const { sup, env } = await setup();
  const orphanFile = file('orphan');
  const stubbornFile = file('stubborn');
  const run = durun(env, ['--', 'sh', '-c',
    `(sleep 1000 & echo $! > ${orphanFile}); (sh -c 'trap "" TERM; echo $$ > ${stubbornFile}; exec sleep 1000' &); exec sleep 1000`]);
  const root = (await sup.next('started', (m) => m.op === 'started')).pid as number;
  const orphan = await readPid(orphanFile);
  // Written after its trap: from then on it ignores TERM.
  const stubborn = await readPid(stubbornFile);
  await waitFor('both re-parented to the runner', () => ppidOf(orphan) === run.child.pid && ppidOf(stubborn) === run.child.pid);
  const t0 = Date.now();
  sup.send({ op: 'kill', signal: 15, graceMs: 300 });
  const end = await sup.next('instance-end', (m) => m.op === 'instance-end');
  assert.ok(Date.now() - t0 >= 250, 'SIGKILL came before graceMs');
  const exits = sup.runnerMsgs.filter((m) => m.op === 'child-exit');
  assert.equal(exits.find((m) => m.pid === root)?.signal, 15);
  assert.equal(exits.find((m) => m.pid === orphan)?.signal, 15);
  assert.equal(exits.find((m) => m.pid === stubborn)?.signal, 9);
  assert.equal(end, { v: 1, op: 'instance-end', instance: 1, signal: 15 });
  for (const pid of [root, orphan, stubborn]) assert.not.ok(isAlive(pid), `pid ${pid} survived`);
  assert.is((await run.done).code, 143);
});

test('SIGTERM sent to durun is forwarded to the root and announced with stopping', async () => {
  const { sup, env } = await setup();
  const run = durun(env, ['--', 'sleep', '1000']);
  const root = (await sup.next('started', (m) => m.op === 'started')).pid as number;
  run.child.kill('SIGTERM');
  const res = await run.done;
  assert.is(res.code, 143, res.stderr);
  const after = ops(sup).slice(ops(sup).indexOf('started'));
  assert.equal(after, ['started', 'stopping', 'child-exit', 'instance-end']);
  assert.is(sup.runnerMsgs.find((m) => m.op === 'stopping')!.signal, 15);
  assert.is(sup.runnerMsgs.find((m) => m.op === 'child-exit')!.signal, 15);
  assert.not.ok(isAlive(root));
});

// Whether durun also forwards the terminal's SIGINT cannot be seen from here:
// two SIGINTs close together merge into one pending signal. This checks that
// the terminal's signal reaches the program and the end is announced.
test('Ctrl-C on a terminal reaches the program and is announced with stopping', async () => {
  const { sup, env } = await setup();
  const counter = file('ints');
  // Counts the SIGINTs it gets and ends on the second Ctrl-C.
  const script = `n=0; trap 'n=$((n+1)); echo $n > ${counter}; [ $n -ge 2 ] && exit 9' INT; echo ready; while :; do sleep 0.02; done`;
  const term = pty.spawn(DURUN_BIN, ['--', 'sh', '-c', script], { env: env as Record<string, string>, cols: 80, rows: 24 });
  started.push(term.pid);
  let out = '';
  term.onData((d) => (out += d));
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  await waitFor('program ready', () => out.includes('ready'));
  assert.is((await sup.next('hello', (m) => m.op === 'hello')).tty, true);
  term.write('\x03');
  await sup.next('stopping', (m) => m.op === 'stopping' && m.signal === 2);
  await waitFor('first SIGINT counted', () => existsSync(counter) && readFileSync(counter, 'utf8').trim() === '1');
  assert.not.ok(ops(sup).includes('instance-end'), 'the program ended on the first Ctrl-C');
  term.write('\x03');
  assert.is(await exited, 9, out);
  assert.equal(sup.runnerMsgs.at(-1), { v: 1, op: 'instance-end', instance: 1, status: 9 });
});

test('detached: prints the started line, writes timestamped 0600 log lines, partial lines flushed', async () => {
  const { sup, env, home } = await setup();
  const go = file('go');
  const res = await durun(env, ['-d', '--group', 'det', '--', 'sh', '-c',
    `echo hello out; echo hello err >&2; printf partial; ${waitFile(go)}; echo; echo bye`]).done;
  assert.is(res.code, 0, res.stderr);
  const hello = await sup.next('hello', (m) => m.op === 'hello');
  started.push(hello.pid);
  const st = await sup.next('started', (m) => m.op === 'started');
  assert.is(res.stdout, `durun: started group det (program 1, pid ${st.pid}); logs: durun logs det\n`);
  assert.is(hello.detached, true);
  assert.is(hello.tty, false);
  const log = path.join(home, 'logs', 'det.1.log');
  const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  await waitFor('partial line in the log', () => lines().some((l) => l.endsWith(' stdout partial')));
  assert.is(statSync(log).mode & 0o777, 0o600);
  const stamp = String.raw`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ${st.pid} `;
  assert.match(lines()[0]!, new RegExp(`${stamp}stdout hello out$`));
  assert.ok(lines().some((l) => new RegExp(`${stamp}stderr hello err$`).test(l)), lines().join('\n'));
  writeFileSync(go, '');
  await waitFor('last line in the log', () => lines().some((l) => l.endsWith(' stdout bye')));
  await sup.next('instance-end', (m) => m.op === 'instance-end');
  await waitFor('detached runner exits after finish', () => !isAlive(hello.pid));
});

test('log rotation past DURUN_LOG_MAX keeps .1', async () => {
  const { sup, env, home } = await setup();
  const res = await durun({ ...env, DURUN_LOG_MAX: '2000' }, ['-d', '--group', 'rot', '--', 'sh', '-c',
    'i=0; while [ $i -lt 100 ]; do echo "line $i of some length to fill the log"; i=$((i+1)); done']).done;
  assert.is(res.code, 0, res.stderr);
  const hello = await sup.next('hello', (m) => m.op === 'hello');
  started.push(hello.pid);
  await waitFor('detached runner exits', () => !isAlive(hello.pid));
  const log = path.join(home, 'logs', 'rot.1.log');
  assert.ok(existsSync(`${log}.1`), 'no rotated file');
  assert.ok(statSync(`${log}.1`).size > 2000);
  assert.ok(existsSync(`${log}.3`), 'fewer than three rotations');
  assert.not.ok(existsSync(`${log}.4`), 'kept more than three');
  assert.match(readFileSync(log, 'utf8'), /line 99 of/);
});

test('supervisor crash: runner keeps the program, reconnects with readopt and replays its reports', async () => {
  const { sup, env } = await setup();
  const go = file('go');
  const run = durun(env, ['--', 'sh', '-c', `${waitFile(go)}; exit 6`]);
  const root = (await sup.next('started', (m) => m.op === 'started')).pid as number;
  const before = sup.runnerMsgs.length;
  await sup.crash();
  await sup.listen();
  const readopt = await sup.next('readopt hello', (m) => m.op === 'hello', before);
  assert.is(readopt.readopt, true);
  assert.is(readopt.program, 1);
  assert.is(readopt.instance, 1);
  assert.is(readopt.rootPid, root);
  assert.ok(isAlive(root), 'the program died with the supervisor');

  // Down again while the program ends: its reports wait for the next supervisor.
  const mark = sup.runnerMsgs.length;
  await sup.crash();
  writeFileSync(go, '');
  await waitFor('root gone', () => !isAlive(root));
  await sup.listen();
  const again = await sup.next('second readopt hello', (m) => m.op === 'hello', mark);
  assert.is(again.rootPid, 0);
  const res = await run.done;
  assert.is(res.code, 6, res.stderr);
  assert.equal(ops(sup).slice(mark), ['hello', 'child-exit', 'instance-end']);
});

test.run();
