// Shared measuring tools for the benchmarks: timing, statistics, and a
// private DURUN_HOME with its supervisor already up.
import { execaSync } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DURUN = path.join(ROOT, 'build', 'durun');

export interface BenchHome { dir: string; env: NodeJS.ProcessEnv; close(): void }

/** A fresh DURUN_HOME whose supervisor is running (so launches measure the warm path). */
export function benchHome(): BenchHome {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durun-bench-'));
  const env: NodeJS.ProcessEnv = { ...process.env, DURUN_HOME: dir };
  delete env.LD_PRELOAD;
  run(env, [DURUN, 'ps']); // starts the supervisor on demand
  return {
    dir, env,
    close() {
      const pidFile = path.join(dir, 'supervisor.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
      run(env, [DURUN, 'shutdown', '--stop-all']);
      // The answer comes before the supervisor has stopped everything and saved its state for the last time.
      const deadline = Date.now() + 30_000;
      while (pid && existsSync(`/proc/${pid}`) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      // Runners stopped by the shutdown may still write their last log lines: retry a refilling directory.
      rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    },
  };
}

export function run(env: NodeJS.ProcessEnv, cmd: string[]): { status: number | null; stdout: string } {
  const res = execaSync(cmd[0]!, cmd.slice(1), { env, extendEnv: false, stdin: 'ignore', stderr: 'inherit', reject: false, stripFinalNewline: false });
  if (res.failed && res.exitCode === undefined) throw new Error(res.shortMessage);
  return { status: res.exitCode ?? null, stdout: res.stdout };
}

/** Wall time of one run of cmd in milliseconds. */
export function timeRun(env: NodeJS.ProcessEnv, cmd: string[]): number {
  const t0 = process.hrtime.bigint();
  run(env, cmd);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Medians of bare and durun runs, interleaved so drift in machine load hits both sides alike. */
export function compareMedians(rounds: number, env: NodeJS.ProcessEnv, bare: string[], underDurun: string[]): { bare: number; durun: number } {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    a.push(timeRun(env, bare));
    b.push(timeRun(env, underDurun));
  }
  return { bare: median(a), durun: median(b) };
}

export interface Row { benchmark: string; baseline: string; durun: string; ratio: string; aim: string }

export const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
