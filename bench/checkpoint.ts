// Checkpoint and restore of a program holding 1, 64, 256 and 1024 MiB, and
// of a 5-process shell-script group: stall (programs stopped), total
// checkpoint time, image size, and time from `durun restore` until the
// restored program runs again. Restore puts every page back before the
// program resumes, so "all memory back" is the same moment.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DURUN, ROOT, benchHome, fmt, run, type BenchHome, type Row } from './lib.js';
import type { PsView } from '../supervisor/src/protocol/views.js';

interface CheckpointAnswer { bytes: number; stallMs: number; durationMs: number; processes: number }

const mib = (b: number) => `${(b / (1 << 20)).toFixed(1)} MiB`;

function lastTick(home: BenchHome, group: string): number {
  const out = run(home.env, [DURUN, 'logs', group]).stdout.trim().split('\n');
  const ticks = out.map((l) => l.match(/ tick \d+ (\d+) /)).filter((m): m is RegExpMatchArray => m !== null);
  return ticks.length ? Number(ticks[ticks.length - 1]![1]) : 0;
}

async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`benchmark: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function livePids(home: BenchHome, group: string): number[] {
  const view = JSON.parse(run(home.env, [DURUN, 'ps', '--json', group]).stdout) as PsView;
  return view.groups[0]?.processes.filter((p) => p.state === 'running').map((p) => p.pid) ?? [];
}

async function measure(home: BenchHome, group: string, cmd: string[], procs: number, label: string): Promise<Row> {
  // --restart never: the kill below must leave the group down, as after a node loss.
  run(home.env, [DURUN, '--detach', '--restart', 'never', '--group', group, '--', ...cmd]);
  await until('first ticks', () => lastTick(home, group) > 0 && livePids(home, group).length >= procs);
  const res = spawnSync(DURUN, ['checkpoint', group, '--json'], { env: home.env, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`durun checkpoint ${group} failed: ${res.stderr}`);
  const ck = JSON.parse(res.stdout) as CheckpointAnswer;
  for (const pid of livePids(home, group)) process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();
  await until('programs dead', () => lastTick(home, group) < killedAt && Date.now() - killedAt > 50);
  const t0 = Date.now();
  const restore = spawnSync(DURUN, ['restore', group], { env: home.env, encoding: 'utf8' });
  if (restore.status !== 0) throw new Error(`durun restore ${group} failed: ${restore.stderr}`);
  const back = await until('a tick after restore', () => { const t = lastTick(home, group); return t > t0 ? t : 0; });
  run(home.env, [DURUN, 'stop', group]);
  return {
    benchmark: label, baseline: `image ${mib(ck.bytes)}`,
    durun: `stall ${fmt(ck.stallMs)}, checkpoint ${fmt(ck.durationMs)}`, ratio: `running again after ${fmt(back - t0)}`,
    aim: label.includes('1024') ? 'stall ≤ 0.3 s; running ≤ 0.3 s' : label.includes(' 1 MiB') ? 'stall ≤ 5 ms' : '—',
  };
}

export async function checkpointBench(sizes = [1, 64, 256, 1024]): Promise<Row[]> {
  const home = benchHome();
  const bin = path.join(home.dir, 'hold-memory');
  execFileSync('gcc', ['-O2', '-o', bin, path.join(ROOT, 'bench', 'fixtures', 'hold-memory.c')]);
  const rows: Row[] = [];
  try {
    for (const size of sizes) rows.push(await measure(home, `hold${size}`, [bin, String(size)], 1, `checkpoint/restore, program holding ${size} MiB`));
    const script = path.join(home.dir, 'five.sh');
    writeFileSync(script, `#!/bin/bash\nfor i in 1 2 3 4; do ${bin} 4 > /dev/null & done\nexec ${bin} 4\n`, { mode: 0o755 });
    rows.push(await measure(home, 'five', [script], 5, 'checkpoint/restore, 5-process shell-script group (4 MiB each)'));
  } finally {
    home.close();
  }
  return rows;
}
