// Checkpoint and restore of a program holding 1, 64, 256 and 1024 MiB, and
// of a 5-process shell-script group: stall (programs stopped), total
// checkpoint time, image size, and from the start of `durun restore`: when
// the restored program runs again (the timestamp of its first tick after
// that, read from the log file itself, not through `durun logs`) and when
// all its memory is back (lazy restore: durun-restore's "all memory back"
// line, which carries the wall-clock time; eager: the same moment).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Every log file of the group (each restore starts a new program id). */
function logText(home: BenchHome, group: string): string {
  const dir = path.join(home.dir, 'logs');
  return readdirSync(dir).filter((f) => f.startsWith(`${group}.`)).map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
}

/** First tick stamped after t0, and durun-restore's "all memory back" wall-clock time after t0 (0 when not seen). */
function restoredAt(home: BenchHome, group: string, t0: number): { running: number; allBack: number } {
  const text = logText(home, group);
  const tick = [...text.matchAll(/ tick \d+ (\d+) /g)].map((m) => Number(m[1])).find((t) => t > t0) ?? 0;
  const back = [...text.matchAll(/durun-restore: all memory back .*unix time (\d+)\.(\d{3})/g)].map((m) => Number(m[1]) * 1000 + Number(m[2])).find((t) => t >= t0) ?? 0;
  return { running: tick, allBack: back };
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
  await until('programs dead', () => lastTick(home, group) < killedAt && Date.now() - killedAt > 50, 30_000).catch((err: Error) => {
    throw new Error(`${err.message}; last tick ${lastTick(home, group)} >= kill at ${killedAt}; ps: ${run(home.env, [DURUN, 'ps', '--json', group]).stdout.trim()}`);
  });
  const t0 = Date.now();
  const restore = spawnSync(DURUN, ['restore', group], { env: home.env, encoding: 'utf8' });
  if (restore.status !== 0) throw new Error(`durun restore ${group} failed: ${restore.stderr}`);
  const running = await until('a tick after restore', () => restoredAt(home, group, t0).running);
  // lazy restore reports when the last page is in; eager never does (every page was back before the first tick)
  const allBackAt = await until('all memory back', () => restoredAt(home, group, t0).allBack || (Date.now() - running > 30_000 ? -1 : 0));
  const at = { running, allBack: allBackAt > 0 ? allBackAt : 0 };
  run(home.env, [DURUN, 'stop', group]);
  const allBack = at.allBack ? at.allBack - t0 : at.running - t0;
  return {
    benchmark: label, baseline: `image ${mib(ck.bytes)}`,
    durun: `stall ${fmt(ck.stallMs)}, checkpoint ${fmt(ck.durationMs)}`,
    ratio: `running again after ${fmt(at.running - t0)}, all memory back after ${fmt(allBack)}${at.allBack ? '' : ' (eager)'}`,
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
