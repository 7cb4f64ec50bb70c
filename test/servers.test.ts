// Issue 9: real servers under durun. Each: put state in (keys, a counter,
// an open client connection), checkpoint, change the state, kill -9
// everything, restore, and check that the state is the checkpoint's and
// that the service answers. Connections open at the checkpoint come back
// closed (no TCP state is carried on a restore after a crash): the client
// sees the end of its stream and connects again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { durun, durunOk, killAll, logFiles, rootWorkspace, runningPids } from './helpers/checkpoint.js';
import { removeTree } from './helpers/home.js';
import { ROOT } from './helpers/paths.js';
import { waitFor } from './helpers/wait.js';

const { as, cleanup } = rootWorkspace('durun-srv');
const work = mkdtempSync(path.join(os.tmpdir(), 'durun-srv-work-'));
test.after(() => {
  cleanup();
  removeTree(work);
});
const haveRedis = spawnSync('redis-server', ['--version']).status === 0;

/** One request/response on a fresh or given connection (RESP for redis, raw lines otherwise). */
function exchange(sock: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.endsWith('\r\n') || got.endsWith('\n')) {
        sock.off('data', onData);
        resolve(got);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(text);
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

async function redis(port: number, ...args: string[]): Promise<string> {
  const s = await connect(port);
  try {
    return (await exchange(s, `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)).trim();
  } finally {
    s.destroy();
  }
}

async function redisCycle(group: string, port: number, daemonize: boolean): Promise<void> {
  const dir = path.join(work, group);
  spawnSync('mkdir', ['-p', dir]);
  durunOk(as, ['--detach', '--restart', 'never', '--group', group, '--', 'redis-server', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', daemonize ? 'yes' : 'no']);
  await waitFor(`${group} answers`, () => redis(port, 'PING').then((r) => r === '+PONG', () => false));
  for (let i = 0; i < 100; i++) assert.is(await redis(port, 'SET', `k${i}`, `v${i}`), '+OK');
  assert.is(await redis(port, 'INCRBY', 'n', '41'), ':41');
  const client = await connect(port);
  assert.is((await exchange(client, 'PING\r\n')).trim(), '+PONG');
  const clientEnd = new Promise<void>((r) => client.once('close', () => r()));
  client.on('error', () => { /* the restored server's side is a closed stream: a reset here is fine */ });
  const cp = durun(as, ['checkpoint', group]);
  assert.is(cp.code, 0, `checkpoint of redis with a client connected: ${cp.stderr}`);
  assert.is(await redis(port, 'SET', 'k1', 'changed'), '+OK');
  assert.is(await redis(port, 'INCR', 'n'), ':42');
  await killAll(as, group);
  const rs = durun(as, ['restore', group]);
  assert.is(rs.code, 0, rs.stderr);
  await waitFor(`${group} answers again`, () => redis(port, 'PING').then((r) => r === '+PONG', () => false));
  assert.is(await redis(port, 'GET', 'k1'), '$2\r\nv1', 'the checkpoint\'s value, not the later one');
  assert.is(await redis(port, 'GET', 'k99'), '$3\r\nv99');
  assert.is(await redis(port, 'GET', 'n'), '$2\r\n41');
  await waitFor('the connection open at the checkpoint ended', () => clientEnd.then(() => true), 5_000);
  await killAll(as, group);
}

test('redis-server: keys, a counter and a client connection across checkpoint, kill -9 and restore', async () => {
  if (!haveRedis) return console.log('  skipped: redis-server is not installed (apt-get install redis-server)');
  await redisCycle('redis', 19071, false);
});

test('redis-server --daemonize yes: the daemon is checkpointed and restored under its runner', async () => {
  if (!haveRedis) return console.log('  skipped: redis-server is not installed (apt-get install redis-server)');
  await redisCycle('redisd', 19072, true);
});

test('a node http server and a python asyncio server keep their state and serve again', async () => {
  const nodeApp = path.join(work, 'app.mjs');
  writeFileSync(nodeApp, "import http from 'node:http'; let hits = 0;\nhttp.createServer((q, s) => s.end(String(++hits) + '\\n')).listen(19073, '127.0.0.1');\n");
  durunOk(as, ['--detach', '--restart', 'never', '--group', 'nodeweb', '--', process.execPath, nodeApp]);
  durunOk(as, ['--detach', '--restart', 'never', '--group', 'pyaio', '--', 'python3', path.join(ROOT, 'test', 'fixtures', 'servers', 'counter.py'), '127.0.0.1', '19074']);
  // A new connection per request: a kept-alive one the server times out (5 s) while a slow checkpoint runs
  // would be reused just as it closes ("fetch failed" on a loaded machine).
  const get = () => new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: 19073, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  const ask = async () => {
    const s = await connect(19074);
    try {
      return (await exchange(s, 'x\n')).trim();
    } finally {
      s.destroy();
    }
  };
  await waitFor('node answers', () => get().catch(() => ''));
  await waitFor('python answers', () => ask().catch(() => ''));
  for (let i = 0; i < 3; i++) await get(), await ask(); // 4 hits each now
  for (const g of ['nodeweb', 'pyaio']) {
    const cp = durun(as, ['checkpoint', g]);
    assert.is(cp.code, 0, `${g}: ${cp.stderr}`);
  }
  assert.is(await get(), '5\n');
  assert.is(await ask(), '5');
  for (const g of ['nodeweb', 'pyaio']) {
    await killAll(as, g);
    const rs = durun(as, ['restore', g]);
    assert.is(rs.code, 0, `${g}: ${rs.stderr}`);
    await waitFor(`${g} restored`, () => runningPids(as, g).length > 0);
  }
  assert.is(await waitFor('node serves again', () => get().catch(() => '')), '5\n', 'node: the count of the checkpoint, then one more');
  assert.is(await waitFor('python serves again', () => ask().catch(() => '')), '5', 'python: the count of the checkpoint, then one more');
  for (const g of ['nodeweb', 'pyaio']) await killAll(as, g);
});

test('sqlite3 reading its commands from a named FIFO reads on from the same FIFO after a restore', async () => {
  if (spawnSync('sqlite3', ['-version']).status !== 0) return console.log('  skipped: sqlite3 is not installed (apt-get install sqlite3)');
  const fifo = path.join(work, 'cmds');
  const db = path.join(work, 'q.db');
  spawnSync('mkfifo', [fifo]);
  // The writer keeps the FIFO open for writing and forwards what the test sends it.
  const writer = spawn('sh', ['-c', 'exec 3>"$0"; while IFS= read -r l; do printf "%s\\n" "$l" >&3; done', fifo], { stdio: ['pipe', 'ignore', 'inherit'] });
  try {
    durunOk(as, ['--detach', '--restart', 'never', '--group', 'sq', '--', 'sh', '-c', `exec sqlite3 ${db} < ${fifo}`]);
    writer.stdin!.write("create table t(x); insert into t values(1); select 'count', count(*) from t;\n");
    const out = () => logFiles(as.home, 'sq').map((f) => readFileSync(path.join(as.home, 'logs', f), 'utf8')).join('');
    await waitFor('sqlite3 answered', () => out().includes('count|1'));
    durunOk(as, ['checkpoint', 'sq']);
    await killAll(as, 'sq');
    durunOk(as, ['restore', 'sq']);
    await waitFor('restored', () => runningPids(as, 'sq').length > 0);
    writer.stdin!.write("insert into t values(2); select 'count', count(*) from t;\n");
    await waitFor('the restored sqlite3 read the FIFO', () => out().includes('count|2'), 10_000);
    await killAll(as, 'sq');
  } finally {
    writer.kill();
  }
});

test.run();
