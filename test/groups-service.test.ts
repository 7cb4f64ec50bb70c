// Issue 4: an LSB init script run as a group (`durun service SCRIPT ...`):
// start tracks the daemon the script leaves behind, status answers with LSB
// codes from durun's knowledge, stop runs the stop action and leaves nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { durunSync, group } from './helpers/durun.js';
import { isAlive, waitFor } from './helpers/wait.js';
import { FIXTURES } from './helpers/paths.js';
import { workspace } from './helpers/stamps.js';

const { home, dir, cleanup } = workspace('durun-svc-');
test.after(cleanup);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function hello(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ host: '127.0.0.1', port });
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}

test('durun service: start, status, stop of a daemonizing server with LSB exit codes', async () => {
  const script = path.join(dir, 'echo-server');
  copyFileSync(path.join(FIXTURES, 'groups', 'echo-server.init'), script);
  const port = await freePort();
  const pidfile = path.join(dir, 'echo.pid');
  writeFileSync(path.join(dir, 'echo-server.conf'), `PORT=${port}\nPIDFILE=${pidfile}\nSERVER=${path.join(FIXTURES, 'groups', 'echo-server.py')}\n`);

  assert.is(durunSync(home.env, ['service', script, 'status']).code, 3, 'not running before start (and no supervisor started for it)');
  const start = durunSync(home.env, ['service', script, 'start']);
  assert.is(start.code, 0, start.stderr);
  assert.is(await hello(port), 'hello\n');
  const daemon = Number(readFileSync(pidfile, 'utf8'));
  // The daemon left behind by the start action is the group.
  const g = await waitFor('daemon tracked', () => group(home.env, 'echo-server')?.processes.find((p) => p.pid === daemon && p.state === 'running'));
  assert.ok(g.preloaded, 'the daemon registered through the interceptor');
  assert.is(group(home.env, 'echo-server')!.state, 'running');
  const status = durunSync(home.env, ['service', script, 'status']);
  assert.is(status.code, 0, status.stdout);
  assert.is(durunSync(home.env, ['service', script, 'start']).code, 0, 'start of a running service succeeds (LSB)');

  const stop = durunSync(home.env, ['service', script, 'stop']);
  assert.is(stop.code, 0, stop.stderr);
  assert.ok(!isAlive(daemon), 'daemon gone');
  assert.is(durunSync(home.env, ['service', script, 'status']).code, 3);
  assert.is(group(home.env, 'echo-server')!.state, 'stopped');
});

test.run();
