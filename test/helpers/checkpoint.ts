// Checkpoint tests (test/checkpoint*.test.ts): run durun as root or as the
// unprivileged user, compile the fixtures, read a group's ticks from its logs,
// and kill every process of a group.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { DURUN_BIN, ROOT } from './paths.js';
import type { PsView } from '../../supervisor/src/protocol/views.js';
import { waitFor, isAlive } from './wait.js';
import { removeTree, tempHome, type TempHome } from './home.js';
import { shutdownAll } from './durun.js';

export const CKPT_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'ckpt');

/** Checkpoint tests as root: a DURUN_HOME, a directory for compiled fixtures, and the cleanup of both (for test.after). */
export function rootWorkspace(prefix: string): { home: TempHome; as: As; bin: string; cleanup(): void } {
  const home = tempHome(`${prefix}-`);
  const bin = mkdtempSync(path.join(os.tmpdir(), `${prefix}bin-`));
  return {
    home, bin, as: { env: home.env, home: home.dir, wrap: (c) => c },
    cleanup: () => {
      shutdownAll(home.env);
      home.cleanup();
      removeTree(bin);
    },
  };
}

/** Who runs durun: root (wrap = identity) or the test user (setpriv). */
export interface As { env: NodeJS.ProcessEnv; home: string; wrap: (cmd: string[]) => string[] }

export interface Run { code: number | null; stdout: string; stderr: string }

export function durun(as: As, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Run {
  const argv = as.wrap([DURUN_BIN, ...args]);
  const res = spawnSync(argv[0]!, argv.slice(1), { env: opts.env ?? as.env, encoding: 'utf8', timeout: 60_000, cwd: opts.cwd ?? '/' });
  if (res.error) throw res.error;
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** durun that must succeed; returns stdout. */
export function durunOk(as: As, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const r = durun(as, args, opts);
  assert.is(r.code, 0, `durun ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Compiles test/fixtures/ckpt/SRC with gcc into dir/OUT (readable and runnable by everyone). */
export function compile(src: string, out: string, dir: string, extra: string[] = []): string {
  const bin = path.join(dir, out);
  execFileSync('gcc', ['-O2', '-Wall', '-o', bin, path.join(CKPT_FIXTURES, src), ...extra]);
  chmodSync(bin, 0o755);
  return bin;
}

export interface Tick { n: number; pid: number; file: string }

/**
 * Where each of a group's log files ends now. A restored program writes on
 * in its program's log (one history), so what it printed is what comes after
 * the mark taken before the restore.
 */
export type LogMark = Map<string, number>;
export function logMark(home: string, group: string): LogMark {
  return new Map(logFiles(home, group).map((f) => [f, statSync(path.join(home, 'logs', f)).size]));
}

/** Every "tick N pid P" line of a group's logs (those files, or what follows a mark), per file in line order; also the FAIL lines. */
export function ticks(home: string, group: string, files?: string[] | LogMark): { ticks: Tick[]; fails: string[] } {
  const dir = path.join(home, 'logs');
  const names = files instanceof Map || !files ? logFiles(home, group) : files;
  const out: Tick[] = [];
  const fails: string[] = [];
  for (const name of names) {
    let text = '';
    try {
      text = readFileSync(path.join(dir, name)).subarray(files instanceof Map ? files.get(name) ?? 0 : 0).toString('utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const m = /tick (\d+) pid (\d+)/.exec(line);
      if (m) out.push({ n: Number(m[1]), pid: Number(m[2]), file: name });
      if (/FAIL/.test(line)) fails.push(line);
    }
  }
  return { ticks: out, fails };
}

export function logFiles(home: string, group: string): string[] {
  try {
    return readdirSync(path.join(home, 'logs')).filter((n) => n.startsWith(`${group}.`) && n.endsWith('.log')).sort();
  } catch {
    return [];
  }
}

/** The last tick of a group's program whose original pid is pid (any log file). */
export function lastTick(home: string, group: string, pid?: number, files?: string[] | LogMark): number {
  const t = ticks(home, group, files).ticks.filter((x) => pid === undefined || x.pid === pid);
  return t.length ? t[t.length - 1]!.n : 0;
}

export function waitTick(home: string, group: string, atLeast: number, pid?: number, files?: string[] | LogMark, timeoutMs = 15_000): Promise<number> {
  return waitFor(`${group}: tick >= ${atLeast}${pid ? ` of pid ${pid}` : ''}`, () => {
    const n = lastTick(home, group, pid, files);
    return n >= atLeast ? n : 0;
  }, timeoutMs, 20);
}

export function psOf(as: As, group: string): PsView['groups'][number] | undefined {
  const r = durun(as, ['ps', '--json', group]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as PsView).groups.find((g) => g.name === group);
}

/** SIGKILLs every running process of the group (as root: we may signal anyone) and waits until they are gone. */
export async function killAll(as: As, group: string): Promise<number[]> {
  const g = psOf(as, group);
  const pids = (g?.processes ?? []).filter((p) => p.state === 'running').map((p) => p.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await waitFor(`processes ${pids.join(' ')} gone`, () => pids.every((p) => !isAlive(p)), 10_000);
  return pids;
}

/** Pids of running processes of the group (outside view). */
export function runningPids(as: As, group: string): number[] {
  return (psOf(as, group)?.processes ?? []).filter((p) => p.state === 'running').map((p) => p.pid);
}

export interface CheckpointOut { id: string; bytes: number; stallMs: number; dir: string; processes: number; kinds: string[] }

export function checkpoint(as: As, group: string, env?: NodeJS.ProcessEnv): CheckpointOut {
  return JSON.parse(durunOk(as, ['checkpoint', group, '--json'], { env })) as CheckpointOut;
}

/**
 * The core scenario: note the ticks before and after `durun checkpoint`, let
 * the program run on past them, kill -9 every process, `durun restore`, and
 * return what the restored program printed first, with the bounds it must
 * lie in (after the last tick seen before, at most one past the last seen
 * right after the checkpoint).
 */
export async function checkpointKillRestore(as: As, group: string, pid: number, opts: { runOn?: number } = {}): Promise<{ before: number; after: number; resumed: number; cp: CheckpointOut }> {
  const before = await waitTick(as.home, group, 5, pid);
  const cp = checkpoint(as, group);
  const after = lastTick(as.home, group, pid);
  await waitTick(as.home, group, after + (opts.runOn ?? 10), pid);
  await killAll(as, group);
  const mark = logMark(as.home, group);
  durunOk(as, ['restore', group]);
  await waitFor(`${group}: restored program logs`, () => ticks(as.home, group, mark).ticks.some((t) => t.pid === pid), 15_000);
  const resumed = ticks(as.home, group, mark).ticks.find((t) => t.pid === pid)!.n;
  // It runs on from there, and keeps verifying its own state.
  await waitTick(as.home, group, resumed + 5, pid, mark);
  const { fails } = ticks(as.home, group);
  assert.equal(fails, [], `the program found its state wrong: ${fails.join('; ')}`);
  return { before, after, resumed, cp };
}
