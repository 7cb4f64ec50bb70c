// redis-server under durun for the benchmarks that need a real server
// holding real data: started detached in a bench home, filled with DEBUG
// POPULATE, talked to in RESP over plain sockets.
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DURUN, run, type BenchHome } from './lib.js';

export const resp = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;

export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** One command on a new connection; its first reply line. */
export async function ask(port: number, ...cmd: string[]): Promise<string> {
  const s = await connect(port);
  try {
    return await new Promise<string>((resolve, reject) => {
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('\r\n')) resolve(got.slice(0, got.indexOf('\r\n')));
      });
      s.once('close', () => reject(new Error(`redis closed the connection to ${cmd.join(' ')}`)));
      s.write(resp(...cmd));
    });
  } finally {
    s.destroy();
  }
}

/** redis-server as group `group` on port, holding about mib MiB of ~1 KiB values, in dir; stop() removes dir. */
export async function startRedis(home: BenchHome, group: string, port: number, mib: number): Promise<{ dir: string; stop(): void }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durun-bench-redis-'));
  run(home.env, [DURUN, '--detach', '--restart', 'never', '--group', group, '--', 'redis-server', '--port', String(port), '--save', '', '--appendonly', 'no',
    '--dir', dir, '--enable-debug-command', 'yes']);
  for (let i = 0; ; i++) {
    try {
      (await connect(port)).destroy();
      break;
    } catch (err) {
      if (i > 200) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const keys = Math.round((mib * 1024 * 1024) / 1100); // ~1 KiB values plus redis's own per-key cost
  const ok = await ask(port, 'DEBUG', 'POPULATE', String(keys), 'bench', '1000');
  if (ok !== '+OK') throw new Error(`DEBUG POPULATE: ${ok}`);
  return { dir, stop: () => rmSync(dir, { recursive: true, force: true }) };
}
