// Issue 9, live move: `durun migrate GROUP` on this node. A client streaming
// requests over one TCP connection keeps that connection across the move,
// every request answered once and in order, while the server becomes a new
// instance restored from the move's checkpoint. A move that fails after the
// connections were frozen lets them go on as before; without root the move
// of a group with live connections is refused with the reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { durun, durunOk, rootWorkspace, runningPids, type As, type Run } from './helpers/checkpoint.js';
import { DURUN_BIN } from './helpers/paths.js';
import { removeTree } from './helpers/home.js';
import { endUserProcesses, unprivilegedUser } from './helpers/user.js';
import { waitFor } from './helpers/wait.js';

const { as, cleanup } = rootWorkspace('durun-mig');
const work = mkdtempSync(path.join(os.tmpdir(), 'durun-mig-work-'));
test.after(() => {
  cleanup();
  removeTree(work);
});
const haveRedis = spawnSync('redis-server', ['--version']).status === 0;
const haveNft = spawnSync('nft', ['--version']).status === 0;

/** durun without blocking the event loop: the clients of these tests keep talking meanwhile. */
function durunLive(who: As, args: string[]): Promise<Run> {
  const argv = who.wrap([DURUN_BIN, ...args]);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: who.env, cwd: '/' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * One client on one connection: sends a request, waits for its whole answer
 * (complete(text) says when), checks it, sleeps 2 ms, again, until stopped.
 * Any error, close or wrong answer ends it with the reason.
 */
class StreamingClient {
  sent = 0;
  failure = '';
  closed = false;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(private readonly sock: net.Socket, request: (n: number) => string, complete: (text: string) => boolean, check: (text: string, n: number) => string | null) {
    sock.on('close', () => (this.closed = true));
    sock.on('error', (err) => (this.failure ||= `socket error: ${err.message}`));
    this.done = (async () => {
      while (!this.stopped && !this.failure) {
        const n = ++this.sent;
        const answer = await this.ask(request(n), complete).catch((err: Error) => `!${err.message}`);
        const bad = answer.startsWith('!') ? answer.slice(1) : check(answer, n);
        if (bad) this.failure ||= `request ${n}: ${bad}`;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
  }

  private ask(text: string, complete: (t: string) => boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      let got = '';
      const timer = setTimeout(() => finish(new Error(`no complete answer within 10 s (got ${JSON.stringify(got)})`)), 10_000);
      const onData = (d: Buffer) => {
        got += d.toString();
        if (complete(got)) finish(null);
      };
      const onClose = () => finish(new Error('connection closed'));
      const finish = (err: Error | null) => {
        clearTimeout(timer);
        this.sock.off('data', onData);
        this.sock.off('close', onClose);
        if (err) reject(err);
        else resolve(got);
      };
      this.sock.on('data', onData);
      this.sock.once('close', onClose);
      this.sock.write(text);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    this.sock.destroy();
  }
}

const resp = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
const redisClient = (sock: net.Socket) =>
  new StreamingClient(sock, () => resp('INCR', 'n'), (t) => t.endsWith('\r\n'), (t, n) => (t === `:${n}\r\n` ? null : `answer ${JSON.stringify(t)}, expected :${n}`));

function moveLocksLeft(): string[] {
  const r = spawnSync('nft', ['list', 'tables', 'inet'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.includes('durun_move_'));
}

function startRedis(group: string, port: number, extra: string[] = []): void {
  const dir = path.join(work, group);
  mkdirSync(dir, { recursive: true });
  durunOk(as, ['--detach', '--restart', 'never', '--group', group, ...extra, '--', 'redis-server', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir]);
}

async function redisGet(port: number, key: string): Promise<string> {
  const s = await connect(port);
  try {
    return await new Promise((resolve) => {
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (/\r\n.*\r\n$|^[:+-].*\r\n$/s.test(got)) resolve(got);
      });
      s.write(resp('GET', key));
    });
  } finally {
    s.destroy();
  }
}

test('redis: a client streaming INCR keeps its connection across durun migrate, nothing lost or repeated', async () => {
  if (!haveRedis || !haveNft || process.getuid!() !== 0) {
    console.log(`  skipped: needs root, redis-server and nft (${[!haveRedis && 'no redis-server', !haveNft && 'no nft', process.getuid!() !== 0 && 'not root'].filter(Boolean).join(', ')})`);
    return;
  }
  const port = 19021;
  startRedis('mig-redis', port);
  await waitFor('redis answers', () => connect(port).then((s) => (s.destroy(), true), () => false));
  const before = runningPids(as, 'mig-redis');
  const client = redisClient(await connect(port));
  await waitFor('the client is under way', () => client.sent > 20 || client.failure);
  const mig = await durunLive(as, ['migrate', 'mig-redis', '--json']);
  assert.is(mig.code, 0, `durun migrate: ${mig.stderr}${mig.stdout}`);
  const answer = JSON.parse(mig.stdout) as { connections: number; frozenMs: number; processes: Array<{ pid: number }> };
  assert.is(answer.connections, 1, 'the one client connection was carried');
  const at = client.sent;
  await waitFor('the client goes on after the move', () => client.sent > at + 50 || client.failure);
  await client.stop();
  assert.is(client.failure, '', 'every INCR answered in order on the same connection');
  assert.not.ok(client.closed, 'the connection was never closed');
  const after = runningPids(as, 'mig-redis');
  assert.ok(after.length === 1 && !before.includes(after[0]!), `a new instance serves (before ${before}, after ${after})`);
  assert.is(answer.processes[0]!.pid, after[0], 'the answer names the restored process');
  assert.is(await redisGet(port, 'n'), `$${String(client.sent).length}\r\n${client.sent}\r\n`, 'the counter is the last answer: nothing lost or repeated');
  assert.equal(moveLocksLeft(), [], 'no network lock is left');
});

test('a node http server: keep-alive requests on one connection across durun migrate', async () => {
  if (!haveNft || process.getuid!() !== 0) {
    console.log('  skipped: needs root and nft');
    return;
  }
  const port = 19022;
  const app = path.join(work, 'web.mjs');
  writeFileSync(app, `import http from 'node:http'; let hits = 0;\nhttp.createServer((q, s) => s.end(String(++hits))).listen(${port}, '127.0.0.1');\n`);
  durunOk(as, ['--detach', '--restart', 'never', '--group', 'mig-web', '--', process.execPath, app]);
  await waitFor('node answers', () => connect(port).then((s) => (s.destroy(), true), () => false));
  const body = (t: string) => t.slice(t.indexOf('\r\n\r\n') + 4);
  const complete = (t: string) => {
    const len = /content-length: (\d+)/i.exec(t);
    return t.includes('\r\n\r\n') && len !== null && Buffer.byteLength(body(t)) >= Number(len[1]);
  };
  const client = new StreamingClient(await connect(port), () => 'GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', complete,
    (t, n) => (t.startsWith('HTTP/1.1 200') && body(t) === String(n) ? null : `answer ${JSON.stringify(t.split('\r\n')[0])} with body ${JSON.stringify(body(t))}, expected hit ${n}`));
  await waitFor('the client is under way', () => client.sent > 20 || client.failure);
  const mig = await durunLive(as, ['migrate', 'mig-web']);
  assert.is(mig.code, 0, `durun migrate: ${mig.stderr}${mig.stdout}`);
  assert.match(mig.stdout, /1 live TCP connection\(s\) carried/);
  const at = client.sent;
  await waitFor('the client goes on after the move', () => client.sent > at + 30 || client.failure);
  await client.stop();
  assert.is(client.failure, '', 'every request answered in order on the same keep-alive connection');
  assert.equal(moveLocksLeft(), []);
});

test('a move that fails after the connections were frozen lets them go on: same instance, same connection, no lock left', async () => {
  if (!haveRedis || !haveNft || process.getuid!() !== 0) {
    console.log('  skipped: needs root, redis-server and nft');
    return;
  }
  const port = 19023;
  // the move's image (the process's second dump, after the pre-copy) fails at its last step, its connection in repair mode
  startRedis('mig-fail', port, ['--env', 'DURUN_FAULT=ckpt:rename@2']);
  await waitFor('redis answers', () => connect(port).then((s) => (s.destroy(), true), () => false));
  const before = runningPids(as, 'mig-fail');
  const client = redisClient(await connect(port));
  await waitFor('the client is under way', () => client.sent > 20 || client.failure);
  const mig = await durunLive(as, ['migrate', 'mig-fail']);
  assert.is.not(mig.code, 0, 'the move failed');
  assert.match(mig.stderr, /aborted|could not write/);
  const at = client.sent;
  await waitFor('the client goes on after the failed move', () => client.sent > at + 30 || client.failure);
  await client.stop();
  assert.is(client.failure, '', 'the frozen connection came back to life in the same process');
  assert.equal(runningPids(as, 'mig-fail'), before, 'the same instance runs on');
  assert.equal(moveLocksLeft(), []);
});

test('without root, moving a group with a live TCP connection is refused with the reason, and nothing changes; with none, it moves', async () => {
  const u = unprivilegedUser();
  if (typeof u === 'string') {
    console.log(`  skipped: ${u}`);
    return;
  }
  const user: As = { env: u.env, home: u.env.DURUN_HOME!, wrap: u.wrap };
  try {
    const port = 19024;
    const r = durun(user, ['--detach', '--restart', 'never', '--group', 'mig-user', '--', 'python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', '/']);
    assert.is(r.code, 0, r.stderr);
    await waitFor('python answers', () => connect(port).then((s) => (s.destroy(), true), () => false));
    const before = runningPids(user, 'mig-user');
    const idle = await connect(port); // an established connection, no request yet
    await waitFor('the server holds the connection', () => spawnSync('ss', ['-Htn', 'state', 'established', `sport = :${port}`], { encoding: 'utf8' }).stdout.trim() !== '');
    const mig = await durunLive(user, ['migrate', 'mig-user']);
    assert.is.not(mig.code, 0);
    assert.match(mig.stderr, /TCP_REPAIR/);
    assert.match(mig.stderr, /root/);
    assert.equal(runningPids(user, 'mig-user'), before, 'the group was not touched');
    const answer = await new Promise<string>((resolve) => {
      let got = '';
      idle.on('data', (d: Buffer) => (got += d.toString()));
      idle.on('close', () => resolve(got));
      idle.write('GET / HTTP/1.0\r\n\r\n');
    });
    assert.match(answer, /^HTTP\/1\.0 200/, 'the connection still works');
    // With no live connection left, the same user's move goes through: a new instance serves.
    await waitFor('the connection is gone', () => spawnSync('ss', ['-Htn', 'state', 'established', `sport = :${port}`], { encoding: 'utf8' }).stdout.trim() === '');
    const moved = await durunLive(user, ['migrate', 'mig-user', '--json']);
    assert.is(moved.code, 0, `durun migrate without connections, unprivileged: ${moved.stderr}`);
    assert.is((JSON.parse(moved.stdout) as { connections: number }).connections, 0);
    const after = runningPids(user, 'mig-user');
    assert.ok(after.length === 1 && !before.includes(after[0]!), `a new instance (before ${before}, after ${after})`);
    const again = await new Promise<string>((resolve, reject) => {
      const s = net.createConnection(port, '127.0.0.1', () => s.write('GET / HTTP/1.0\r\n\r\n'));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    assert.match(again, /^HTTP\/1\.0 200/, 'the moved server answers');
  } finally {
    durun(user, ['shutdown', '--stop-all']);
    endUserProcesses(u.uid);
    removeTree(u.home);
  }
});

test.run();
