// libdurun.so against real programs: a Unix-socket server stands in for the
// supervisor and records every JSON line; the tests run bash scripts, python,
// a static binary and small C probes under LD_PRELOAD and check what the
// interceptor reported (ARCHITECTURE.md, "role proc") and what the program
// could see of it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LIBDURUN } from './helpers/paths.js';
import { tempHome } from './helpers/home.js';
import { waitFor, isAlive } from './helpers/wait.js';

interface Msg {
  v: number;
  op: string;
  pid: number;
  [key: string]: unknown;
}

/** The stand-in supervisor: accepts every connection and keeps each line. */
class Collector {
  readonly msgs: Msg[] = [];
  /** The first hello of each connection that has closed. */
  readonly closedLinks: Msg[] = [];
  private readonly conns = new Set<net.Socket>();
  private constructor(readonly sock: string, private readonly server: net.Server) {}

  static async start(sock: string): Promise<Collector> {
    const server = net.createServer();
    const c = new Collector(sock, server);
    server.on('connection', (s) => c.track(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(sock, () => resolve());
    });
    return c;
  }

  private track(s: net.Socket): void {
    this.conns.add(s);
    let buf = '';
    let owner: Msg | undefined;
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl)) as Msg;
        buf = buf.slice(nl + 1);
        owner ??= msg;
        this.msgs.push(msg);
      }
    });
    s.on('error', () => s.destroy()); // a peer killed mid-write; the test looks at what arrived
    s.on('close', () => {
      this.conns.delete(s);
      if (owner) this.closedLinks.push(owner);
    });
  }

  find(pred: (m: Msg) => boolean): Msg | undefined {
    return this.msgs.find(pred);
  }

  all(pred: (m: Msg) => boolean): Msg[] {
    return this.msgs.filter(pred);
  }

  wait(what: string, pred: (m: Msg) => boolean, timeoutMs = 10_000): Promise<Msg> {
    return waitFor(what, () => this.find(pred), timeoutMs);
  }

  async stop(): Promise<void> {
    for (const s of this.conns) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

const home = tempHome('durun-pre-');
const started: ChildProcess[] = [];
let col: Collector;

/** The environment the durun runner gives a program. */
function durunEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...home.env,
    DURUN_SOCK: col.sock,
    DURUN_HOME: home.dir,
    DURUN_GROUP: 'g',
    DURUN_PROGRAM: '1',
    DURUN_INSTANCE: '1',
    DURUN_EXEC_COUNT: '0',
    DURUN_LIB: LIBDURUN,
    LD_PRELOAD: LIBDURUN,
    ...extra,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

function run(argv: string[], extra: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(argv[0]!, argv.slice(1), { env: durunEnv(extra), stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

function output(child: ChildProcess): () => string {
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  return () => out;
}

const argvIs = (m: Msg, ...argv: string[]): boolean => JSON.stringify(m.argv) === JSON.stringify(argv);
const hello = (reason: string, ...argv: string[]) => (m: Msg): boolean =>
  m.op === 'hello' && m.reason === reason && argvIs(m, ...argv);
/** A silent fork child's exec, announced on its parent's link: the new image starts lazy. */
const announced = (...argv: string[]) => (m: Msg): boolean =>
  m.op === 'exec' && m.lazy === true && argvIs(m, ...argv);

/** Every process still carrying this test's DURUN_SOCK, registered or not
 * (a static binary never registers). */
function ourProcesses(): number[] {
  const mine: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!pid || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`DURUN_SOCK=${col.sock}`)) mine.push(pid);
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return mine;
}

function killOurs(): void {
  for (const pid of ourProcesses()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Compiles a C program into the temp dir (gcc is needed for the build anyway). */
function compile(name: string, source: string, flags: string[] = []): string {
  const src = path.join(home.dir, `${name}.c`);
  const bin = path.join(home.dir, name);
  writeFileSync(src, source);
  execFileSync('gcc', ['-O2', '-o', bin, src, ...flags]);
  return bin;
}

const callhomeSignal = (): number => {
  // SIGRTMAX-3, as the library computes it (glibc: SIGRTMAX is 64).
  const out = execFileSync('bash', ['-c', 'kill -l RTMAX-3']).toString().trim();
  return /^\d+$/.test(out) ? Number(out) : 61;
};

test.before.each(async () => {
  col = await Collector.start(path.join(home.dir, `s${Math.random().toString(36).slice(2, 8)}.sock`));
});

test.after.each(async () => {
  killOurs();
  await waitFor('no process of this test left', () => ourProcesses().every((p) => !isAlive(p)));
  await col.stop();
});

test.after(() => home.cleanup());

test('a bash script tree registers with the right parents, execs and exits', async () => {
  const ready = path.join(home.dir, 'tree-ready');
  const script = `
sleep 31 &
echo a | tr a b > /dev/null
(setsid sleep 32 &)
bash -c 'exec sleep 33' &
env -i /bin/sh -c 'exec sleep 34' &
sh -c 'exit 6'
touch ${ready}
wait
`;
  const root = run(['bash', '-c', script]);
  const rootPid = root.pid!;
  await waitFor('script ready', () => existsSync(ready));

  const load = await col.wait('root hello', (m) => m.op === 'hello' && m.pid === rootPid && m.reason === 'load');
  assert.is(load.ppid, process.pid);
  assert.is(load.group, 'g');
  assert.is(load.program, 1);
  assert.is(load.instance, 1);
  assert.is(load.execCount, 0);
  assert.is(load.exe, readlinkSync(`/proc/${rootPid}/exe`));
  assert.is(load.cwd, process.cwd());
  assert.ok(typeof load.startedAt === 'number' && Math.abs((load.startedAt as number) - Date.now()) < 60_000);

  // Background job: a fork of the script, then the exec'd sleep. The child,
  // which only execs, announces its exec on the copy of the script's link it
  // kept (one send, with its own pid), and the new image starts lazy: no
  // connect, no hello, no exit of its own (lazy registration).
  const bg = await col.wait('sleep 31', announced('sleep', '31'));
  assert.is(bg.execCount, 1);
  assert.ok(col.find((m) => m.op === 'fork' && m.pid === rootPid && m.child === bg.pid), 'fork report of the job by the script');
  assert.is(readlinkSync(`/proc/${bg.pid}/exe`), '/usr/bin/sleep');
  assert.is(Number(readFileSync(`/proc/${bg.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]), rootPid, 'the announcer is the script\'s child');
  assert.not.ok(col.find((m) => m.op === 'hello' && m.pid === bg.pid), 'no hello: the job never had to connect');
  assert.ok([...fdTable(bg.pid).keys()].every((fd) => fd < 900), 'no link: the copy of the script\'s link went with the exec');

  // Pipeline: tr is a child of the script and exits 0, reaped by it: the reaped report is its end.
  const tr = await col.wait('tr', announced('tr', 'a', 'b'));
  await col.wait('tr reaped', (m) => m.op === 'reaped' && m.pid === rootPid && m.child === tr.pid && m.status === 0);
  assert.not.ok(col.find((m) => m.op === 'exit' && m.pid === tr.pid), 'a lazy image that never spoke sends no exit');

  // (setsid sleep 32 &): subshell forks the job, which execs setsid, then sleep.
  const daemon = await col.wait('sleep 32', hello('load', 'sleep', '32'));
  assert.is(daemon.execCount, 2, 'setsid and sleep: two execs');
  const daemonFork = col.find((m) => m.op === 'fork' && m.child === daemon.pid)!;
  assert.ok(daemonFork, 'double-forked daemon reported at fork by its parent');
  // The subshell had a child to report: it registered first, as the script's fork child.
  const subshell = col.find((m) => m.op === 'hello' && m.reason === 'fork' && m.pid === daemonFork.pid)!;
  assert.ok(subshell, 'its parent is the subshell');
  assert.is(subshell.ppid, rootPid);
  assert.ok(col.find((m) => m.op === 'fork' && m.pid === rootPid && m.child === subshell.pid), 'the script reported the subshell');
  await col.wait('subshell exit', (m) => m.op === 'exit' && m.pid === subshell.pid && m.status === 0);

  // exec builtin: the same pid registers again with execCount 2.
  const ex = await col.wait('sleep 33', hello('load', 'sleep', '33'));
  assert.is(ex.ppid, rootPid);
  assert.is(ex.execCount, 2);
  assert.ok(col.find((m) => m.op === 'exec' && m.pid === ex.pid && argvIs(m, 'sleep', '33')), 'bash exec builtin goes through execve');

  // env -i: the environment is repaired, registration and count survive.
  const envI = await col.wait('sleep 34', hello('load', 'sleep', '34'));
  assert.is(envI.ppid, rootPid);
  assert.is(envI.execCount, 3, 'env, sh, sleep');
  assert.is(envI.group, 'g');
  const environ = readFileSync(`/proc/${envI.pid}/environ`, 'latin1').split('\0');
  assert.ok(environ.includes(`LD_PRELOAD=${LIBDURUN}`), 'LD_PRELOAD restored');
  assert.ok(environ.includes('DURUN_EXEC_COUNT=3'));
  assert.ok(environ.includes(`DURUN_SOCK=${col.sock}`));

  // A non-zero exit of a lazy image: its parent's reaped tells the status.
  const six = await col.wait('sh -c exit 6', announced('sh', '-c', 'exit 6'));
  await col.wait('sh reaped with 6', (m) => m.op === 'reaped' && m.pid === rootPid && m.child === six.pid && m.status === 6);

  root.kill('SIGKILL');
  await exited(root);
});

test('SIGKILL: no exit message, the parent reports the signal', async () => {
  // A registered process (it forked) and a lazy one (it only exec'd).
  const root = run(['bash', '-c', '(sleep 60 & wait) & sleep 61 & wait; exit 0']);
  const sl = await col.wait('sleep 60', hello('load', 'sleep', '60'));
  const lazy = await col.wait('sleep 61', announced('sleep', '61'));
  process.kill(sl.pid, 'SIGKILL');
  process.kill(lazy.pid, 'SIGKILL');
  await col.wait('sleep 60 reaped by the subshell', (m) => m.op === 'reaped' && m.child === sl.pid && m.signal === 9);
  await col.wait('sleep 61 reaped by bash', (m) => m.op === 'reaped' && m.pid === root.pid && m.child === lazy.pid && m.signal === 9);
  await col.wait('bash exit', (m) => m.op === 'exit' && m.pid === root.pid && m.status === 0);
  await waitFor('sleep link closed', () => col.closedLinks.includes(sl));
  assert.not.ok(col.find((m) => m.op === 'exit' && (m.pid === sl.pid || m.pid === lazy.pid)), 'a killed process sends no exit');
  assert.is(await exited(root), 0);
});

test('a static child is seen through exec and its parent\'s reaped', async (ctx) => {
  if (!existsSync('/usr/lib/x86_64-linux-gnu/libc.a')) {
    // libc6-dev provides libc.a; without it there is no static program to run.
    console.log(`skipped in ${ctx.__test__}: no static libc (install libc6-dev)`);
    return;
  }
  const bin = compile('static-exit', '#include <stdlib.h>\nint main(int c, char **v) { return c > 1 ? atoi(v[1]) : 0; }\n', ['-static']);
  const root = run(['bash', '-c', `${bin} 7; exit 0`]);
  // bash's fork child announces the exec on the script's link (it has none of its own yet); the
  // supervisor knows it from that and the parent's report, and its status from the parent's reaped
  // (that the file is static, from the file: test/tree.test.ts).
  const fork = await col.wait('fork report of the static child', (m) => m.op === 'fork' && m.pid === root.pid);
  await col.wait('announced exec', (m) => announced(bin, '7')(m) && m.pid === fork.child);
  await col.wait('reaped 7', (m) => m.op === 'reaped' && m.pid === root.pid && m.child === fork.child && m.status === 7);
  assert.is(await exited(root), 0);
  assert.not.ok(col.find((m) => m.op === 'hello' && m.pid === fork.child), 'a static image cannot register');

  // A fork child that has registered already reports its exec on its own link.
  const sub = run(['bash', '-c', `(sleep 0.01 & wait; ${bin} 5); exit 0`]);
  const exec = await col.wait('exec of the static binary', (m) => m.op === 'exec' && m.path === bin && argvIs(m, bin, '5'));
  assert.is(exec.lazy, undefined);
  await col.wait('reaped 5', (m) => m.op === 'reaped' && m.child === exec.pid && m.status === 5);
  assert.is(await exited(sub), 0);
});

// Exercises the calls a program makes on its own: errno, closing the link,
// the hidden call-home signal. Prints one JSON object; with "daemon" it closes
// every fd first and writes the result to a file instead.
const PROBE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t mine_ran, term;
static void mine(int s) { (void)s; mine_ran = 1; }
static void on_term(int s) { (void)s; term = 1; }

/* The one socket at or above 900: the library's link. */
static int find_link(void) {
	char p[64], t[64];
	for (int fd = 900; fd < 1024; fd++) {
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(p, t, sizeof t - 1);
		if (n > 0) { t[n] = 0; if (strncmp(t, "socket:", 7) == 0) return fd; }
	}
	return -1;
}

int main(int argc, char **argv) {
	FILE *out = stdout;
	int sig = SIGRTMAX - 3;
	if (argc > 2 && strcmp(argv[1], "daemon") == 0) {
		for (int fd = 0; fd < 1024; fd++) close(fd);
		close_range(0, ~0U, 0);
		closefrom(0);
		int nul = open("/dev/null", O_RDWR);     /* fd 0 */
		dup2(nul, find_link() >= 0 ? find_link() : 900);   /* take the link's number */
		out = fopen(argv[2], "w");
	}
	int link = find_link();

	errno = EDOM;
	pid_t c = fork();
	if (c == 0) _exit(errno == EDOM ? 3 : 4);
	int fork_errno = errno, st = 0;
	waitpid(c, &st, 0);
	int wait_errno = errno;
	int nochild = waitpid(-1, NULL, WNOHANG), nochild_errno = errno;
	int ex = execl("/nonexistent/x", "x", (char *)0), ex_errno = errno;

	struct sigaction sa, old, cur;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = mine;
	int sa_rc = sigaction(sig, &sa, &old);
	sigaction(sig, NULL, &cur);
	sigset_t set, now;
	sigemptyset(&set);
	sigaddset(&set, sig);
	int mask_rc = sigprocmask(SIG_BLOCK, &set, NULL);
	sigprocmask(SIG_BLOCK, NULL, &now);

	int c1 = close(link), c2 = close(link), c2_errno = errno;
	fprintf(out, "{\"link\":%d,\"forkErrno\":%d,\"childStatus\":%d,\"waitErrno\":%d,\"noChild\":%d,\"noChildErrno\":%d,"
		"\"exec\":%d,\"execErrno\":%d,\"sigactionRc\":%d,\"oldDefault\":%d,\"remembered\":%d,\"maskRc\":%d,"
		"\"maskShowsBlocked\":%d,\"close1\":%d,\"close2\":%d,\"close2Errno\":%d}\n",
		link, fork_errno, WEXITSTATUS(st), wait_errno, nochild, nochild_errno, ex, ex_errno, sa_rc,
		old.sa_handler == SIG_DFL, cur.sa_handler == mine, mask_rc, sigismember(&now, sig), c1, c2, c2_errno);
	fflush(out);
	signal(SIGTERM, on_term);
	while (!term) pause();     /* the test sends the call-home signal, then SIGTERM */
	fprintf(out, "{\"mineRan\":%d}\n", (int)mine_ran);
	fclose(out);
	return 0;
}
`;

function lastJson(text: string): Record<string, number> {
  const lines = text.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, number>;
}

async function checkProbe(probePid: number, read: () => string): Promise<void> {
  await waitFor('probe report', () => read().includes('close2Errno'));
  const r = lastJson(read());
  assert.ok(r.link! >= 900, `link at ${r.link}`);
  assert.is(r.forkErrno, 33, 'errno (EDOM) kept across fork');
  assert.is(r.childStatus, 3, 'errno kept in the fork child');
  assert.is(r.waitErrno, 33, 'errno kept across waitpid + reaped message');
  assert.is(r.noChild, -1);
  assert.is(r.noChildErrno, 10, 'ECHILD');
  assert.is(r.exec, -1);
  assert.is(r.execErrno, 2, 'ENOENT from a failed exec');
  assert.is(r.sigactionRc, 0, 'sigaction for the call-home signal succeeds');
  assert.is(r.oldDefault, 1);
  assert.is(r.remembered, 1, 'the program reads back its own handler');
  assert.is(r.maskRc, 0);
  assert.is(r.maskShowsBlocked, 1, 'the program sees the mask it asked for');
  assert.is(r.close1, 0, 'closing the link looks like success');
  assert.is(r.close2, -1, 'a second close fails as it would');
  assert.is(r.close2Errno, 9, 'EBADF');

  const forked = await col.wait('probe fork hello', (m) => m.op === 'hello' && m.reason === 'fork' && m.ppid === probePid);
  await col.wait('child exit 3', (m) => m.op === 'exit' && m.pid === forked.pid && m.status === 3);
  await col.wait('reaped 3', (m) => m.op === 'reaped' && m.pid === probePid && m.child === forked.pid && m.status === 3);
  await col.wait('exec-failed', (m) => m.op === 'exec-failed' && m.pid === probePid && m.errno === 2);

  // The link survived all of it: the call-home signal gets a new hello, and
  // the program's own handler never runs.
  process.kill(probePid, callhomeSignal());
  await col.wait('callhome hello', (m) => m.op === 'hello' && m.reason === 'callhome' && m.pid === probePid);
  process.kill(probePid, 'SIGTERM');
  await waitFor('probe final report', () => read().includes('mineRan'));
  assert.is(lastJson(read()).mineRan, 0, 'the call-home signal is hidden from the program');
  await col.wait('probe exit 0', (m) => m.op === 'exit' && m.pid === probePid && m.status === 0);
}

test('errno, close of the link and the call-home signal, as the program sees them', async () => {
  const probe = compile('probe', PROBE);
  const child = run([probe]);
  await checkProbe(child.pid!, output(child));
  assert.is(await exited(child), 0);
});

test('a daemon that closes every fd and dup2s onto the link keeps its link', async () => {
  const probe = compile('probe', PROBE);
  const report = path.join(home.dir, 'daemon.out');
  const child = run([probe, 'daemon', report]);
  await checkProbe(child.pid!, () => (existsSync(report) ? readFileSync(report, 'utf8') : ''));
  assert.is(await exited(child), 0);
});

test('daemon(3): the parent\'s end is planned, it reports the child, which connects when called', async () => {
  const bin = compile('daemonize', '#include <stdlib.h>\n#include <unistd.h>\nint main(void) { if (daemon(1, 1) < 0) return 1; for (;;) pause(); }\n');
  const child = run([bin]);
  const fork = await col.wait('fork report', (m) => m.op === 'fork' && m.pid === child.pid);
  await col.wait('parent exit 0', (m) => m.op === 'exit' && m.pid === child.pid && m.status === 0);
  const daemonPid = fork.child as number;
  assert.ok(isAlive(daemonPid), 'daemon running');
  assert.is(await exited(child), 0);
  // Silent so far (pause() forever): the call-home signal makes it connect, as a checkpoint does.
  assert.not.ok(col.find((m) => m.op === 'hello' && m.pid === daemonPid), 'no link before it has something to say');
  process.kill(daemonPid, callhomeSignal());
  const d = await col.wait('daemon child hello', (m) => m.op === 'hello' && m.pid === daemonPid);
  assert.is(d.reason, 'fork', 'it registers as what it is: a fork child of its parent');
  assert.is(d.ppid, child.pid);
  assert.is(d.group, 'g');
});

/** fd -> target of a running process. */
function fdTable(pid: number): Map<number, string> {
  return new Map(readdirSync(`/proc/${pid}/fd`).map((fd) => [Number(fd), readlinkSync(`/proc/${pid}/fd/${fd}`)]));
}

test('the only extra fd is the link, close-on-exec, at 900 or above', async () => {
  // What `ls -l /proc/self/fd` shows, with and without the library: whatever
  // this test inherited from its own parent shows in both.
  const listing = async (env: NodeJS.ProcessEnv): Promise<string[]> => {
    const ls = spawn('ls', ['-l', '/proc/self/fd'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const text = output(ls);
    assert.is(await exited(ls), 0);
    return text().split('\n').flatMap((l) => l.match(/ (\d+) -> (.*)$/)?.[1] ?? []);
  };
  const plainFds = await listing(home.env);
  const extra = (await listing(durunEnv())).filter((fd) => !plainFds.includes(fd));
  assert.is(extra.length, 1, `extra fds: ${extra.join(',')}`);
  assert.ok(Number(extra[0]) >= 900, `link at ${extra[0]}`);

  const plain = spawn('sleep', ['30'], { env: home.env, stdio: 'ignore' });
  started.push(plain);
  const sl = run(['sleep', '30']);
  await col.wait('sleep hello', (m) => m.op === 'hello' && m.pid === sl.pid);
  const base = fdTable(plain.pid!);
  const added = [...fdTable(sl.pid!)].filter(([fd]) => fd > 2 && !base.has(fd));
  plain.kill('SIGKILL');
  assert.is(added.length, 1, `added fds: ${JSON.stringify(added)}`);
  const [fd, target] = added[0]!;
  assert.ok(fd >= 900);
  assert.match(target, /^socket:/);
  const flags = readFileSync(`/proc/${sl.pid}/fdinfo/${fd}`, 'utf8').match(/flags:\s+([0-7]+)/)![1]!;
  assert.ok((parseInt(flags, 8) & 0o2000000) !== 0, `O_CLOEXEC set (flags ${flags})`);
});

test('python subprocess and os.posix_spawn(env={}) children register', async (ctx) => {
  const py = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));
  if (!py) {
    console.log(`skipped in ${ctx.__test__}: no python3`);
    return;
  }
  const code = [
    'import os, subprocess',
    "subprocess.run(['/bin/true', 'py-child'], close_fds=False)", // posix_spawn path in subprocess
    "pid = os.posix_spawn('/bin/true', ['/bin/true', 'spawned'], {})",
    'os.waitpid(pid, 0)',
  ].join('\n');
  const child = run([py, '-c', code]);
  assert.is(await exited(child), 0);
  const sub = await col.wait('subprocess child', hello('load', '/bin/true', 'py-child'));
  assert.is(sub.ppid, child.pid);
  assert.is(sub.execCount, 1);
  const spawned = await col.wait('posix_spawn child with an empty env', hello('load', '/bin/true', 'spawned'));
  assert.is(spawned.ppid, child.pid);
  assert.is(spawned.group, 'g', 'identity restored into an empty environment');
  await col.wait('reaped spawned', (m) => m.op === 'reaped' && m.pid === child.pid && m.child === spawned.pid && m.status === 0);
});

test('without DURUN_SOCK the library is inert', async () => {
  const child = run(['bash', '-c', 'true; exit 5'], { DURUN_SOCK: undefined });
  assert.is(await exited(child), 5);
  assert.is(col.msgs.length, 0);
});

test('an unreachable supervisor goes unnoticed', async () => {
  const child = run(['bash', '-c', 'sh -c "exit 4"; echo $?'], { DURUN_SOCK: path.join(os.tmpdir(), 'durun-nobody-listens.sock') });
  const out = output(child);
  assert.is(await exited(child), 0);
  assert.is(out().trim(), '4');
});

test.run();
