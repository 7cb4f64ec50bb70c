// Issue 9 item 4: programs that drop privileges after they start. nginx's
// master (root) forks two workers that become `nobody`; a worker registers
// with the supervisor just before its setuid (preload/privdrop.c), while it
// may still connect to the supervisor's private socket, and keeps that link
// as nobody. What is not carried yet (writing the image as nobody, restoring
// the credentials) is refused with its reason, before any barrier.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { durun, durunOk, rootWorkspace, runningPids } from './helpers/checkpoint.js';
import { removeTree } from './helpers/home.js';
import { waitFor } from './helpers/wait.js';

const { as, cleanup } = rootWorkspace('durun-priv');
const work = mkdtempSync(path.join(os.tmpdir(), 'durun-priv-work-'));
chmodSync(work, 0o755);
test.after(() => {
  cleanup();
  removeTree(work);
});
const NGINX = '/usr/sbin/nginx';
const haveNginx = spawnSync(NGINX, ['-v']).status === 0;
const PORT = 19131;

const uidOf = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const linkFds = (pid: number): number[] => readdirSync(`/proc/${pid}/fd`).map(Number).filter((fd) => fd >= 900);

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(port, '127.0.0.1', () => s.write('GET / HTTP/1.0\r\n\r\n'));
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.once('error', reject);
  });
}

test('nginx master + 2 workers as nobody: the workers stay linked after the drop; a checkpoint says what it cannot carry', async () => {
  if (!haveNginx || process.getuid!() !== 0) return console.log(`  skipped: ${haveNginx ? 'needs root' : 'no nginx (apt-get install nginx-light)'}`);
  const conf = path.join(work, 'nginx.conf');
  const tmp = (n: string) => path.join(work, n);
  writeFileSync(conf, `daemon off;
master_process on;
worker_processes 2;
user nobody nogroup;
pid ${tmp('nginx.pid')};
error_log ${tmp('error.log')} info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${tmp('body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  server { listen 127.0.0.1:${PORT}; location / { return 200 "hello from nginx\\n"; } }
}
`);
  durunOk(as, ['run', '--detach', '--group', 'nginx', '--restart', 'never', '--', NGINX, '-c', conf, '-p', work]);
  const pids = await waitFor('master and 2 workers', () => {
    const p = runningPids(as, 'nginx');
    return p.length === 3 && p.filter((pid) => uidOf(pid) === 65534).length === 2 ? p : undefined;
  }, 15_000);
  assert.match(await get(PORT), /hello from nginx/);
  const workers = pids.filter((pid) => uidOf(pid) === 65534);
  for (const w of workers) {
    assert.is(linkFds(w).length, 1, `worker ${w} runs as nobody and holds its link, opened before the drop`);
  }
  const cp = durun(as, ['checkpoint', 'nginx']);
  assert.is.not(cp.code, 0);
  assert.match(cp.stderr, /dropped its privileges to uid 65534 after it started; it stays linked/);
  assert.match(await get(PORT), /hello from nginx/, 'the refused checkpoint left nginx serving');
  assert.equal(runningPids(as, 'nginx').sort(), pids.sort(), 'nothing restarted');
  durunOk(as, ['stop', 'nginx']);
});

test.run();
