// redis-server holding 1 GiB (DURUN_BENCH_REDIS_MIB), as an operator sees
// it: `durun checkpoint --full` from the CLI until it returns (the checkpoint
// is committed and restorable then), and, after kill -9 of every process of
// the group, `durun restore` from the CLI until redis answers PING again.
// Baseline in the same run: the same data saved by redis itself (SAVE) and
// a bare redis-server started on that dump until it answers PING.
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { DURUN, benchHome, fmt, median, run, type Row } from './lib.js';
import { ask, startRedis } from './redis.js';
import type { PsView } from '../supervisor/src/protocol/views.js';

const PORT = 19032;
const BARE_PORT = 19033;

/** ms from t0 until redis on port answers PING with PONG. */
async function answersAfter(port: number, t0: bigint): Promise<number> {
  for (;;) {
    const r = await ask(port, 'PING').catch(() => '');
    if (r === '+PONG') return Number(process.hrtime.bigint() - t0) / 1e6;
    await new Promise((res) => setTimeout(res, 2));
  }
}

export async function redisRestoreBench(rounds = 3, mib = Number(process.env.DURUN_BENCH_REDIS_MIB) || 1024): Promise<Row[]> {
  const home = benchHome();
  let redis: { dir: string; stop(): void } | null = null;
  try {
    redis = await startRedis(home, 'kept', PORT, mib);
    const commit: number[] = [];
    const restored: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      const c = await execa(DURUN, ['checkpoint', 'kept', '--full'], { env: home.env, reject: false });
      if (c.exitCode !== 0) throw new Error(`durun checkpoint: ${c.stderr}`);
      commit.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const view = JSON.parse(run(home.env, [DURUN, 'ps', 'kept', '--json']).stdout) as PsView;
      for (const p of view.groups[0]?.processes ?? []) if (p.state === 'running') process.kill(p.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      const t1 = process.hrtime.bigint();
      const restore = execa(DURUN, ['restore', 'kept'], { env: home.env, reject: false });
      restored.push(await answersAfter(PORT, t1));
      const r = await restore;
      if (r.exitCode !== 0) throw new Error(`durun restore: ${r.stderr}`);
    }
    // the baseline: redis's own snapshot of the same data, loaded by a bare redis-server
    if ((await ask(PORT, 'SAVE')) !== '+OK') throw new Error('redis SAVE failed');
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      const child = spawn('redis-server', ['--port', String(BARE_PORT), '--dir', redis.dir, '--appendonly', 'no'], { stdio: 'ignore' });
      bare.push(await answersAfter(BARE_PORT, t0));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    return [{
      benchmark: `redis-server holding ${mib} MiB: \`durun checkpoint --full\` until it returns (committed, restorable) (${rounds} runs)`,
      baseline: '—', durun: `median ${fmt(median(commit))}`, ratio: '—', aim: '≤ 2 s',
    }, {
      benchmark: `redis-server holding ${mib} MiB, every process killed -9: \`durun restore\` until redis answers PING (${rounds} runs)`,
      baseline: `${fmt(median(bare))} (bare redis-server loading its own SAVE of the same data)`,
      durun: `median ${fmt(median(restored))}, max ${fmt(Math.max(...restored))}`,
      ratio: `×${(median(restored) / median(bare)).toFixed(3)}`,
      aim: '≤ 150 ms (CRIU lazy pages: 486–526 ms)',
    }];
  } finally {
    home.close();
    redis?.stop();
  }
}
