// Running the real `durun` command in a test's private DURUN_HOME.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { DURUN_BIN } from './paths.js';
import type { PsView, GroupView } from '../../supervisor/src/protocol/views.js';
import { isAlive, waitFor } from './wait.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs durun to completion (for commands that end by themselves). */
export function durunSync(env: NodeJS.ProcessEnv, args: string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): Result {
  const res = spawnSync(DURUN_BIN, args, { env, input: opts.input ?? '', encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, cwd: opts.cwd });
  if (res.error) throw res.error;
  return { code: res.status, signal: res.signal, stdout: res.stdout, stderr: res.stderr };
}

/** Starts durun in the background; the returned promise settles when it exits. */
export function durunAsync(env: NodeJS.ProcessEnv, args: string[], opts: SpawnOptions = {}): { child: ChildProcess; done: Promise<Result>; out: () => string } {
  const child = spawn(DURUN_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const done = new Promise<Result>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, out: () => stdout };
}

export function ps(env: NodeJS.ProcessEnv, group?: string): PsView {
  const res = durunSync(env, ['ps', '--json', ...(group ? [group] : [])]);
  if (res.code !== 0) throw new Error(`durun ps failed (${res.code}): ${res.stderr}`);
  return JSON.parse(res.stdout) as PsView;
}

export function group(env: NodeJS.ProcessEnv, name: string): GroupView | undefined {
  return ps(env).groups.find((g) => g.name === name);
}

/** Waits until the group exists and check(group) holds. */
export function waitGroup(env: NodeJS.ProcessEnv, name: string, what: string, check: (g: GroupView) => boolean, timeoutMs = 10_000): Promise<GroupView> {
  return waitFor(`group ${name}: ${what}`, () => {
    const g = group(env, name);
    return g && check(g) ? g : undefined;
  }, timeoutMs, 50);
}

/** Stops every group and the supervisor of a test home (best effort at the end of a test). */
export function shutdownAll(env: NodeJS.ProcessEnv): void {
  const pidFile = env.DURUN_HOME ? path.join(env.DURUN_HOME, 'supervisor.pid') : '';
  const pid = pidFile && existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
  spawnSync(DURUN_BIN, ['shutdown', '--stop-all'], { env, timeout: 30_000 });
  // The answer comes before the supervisor has stopped everything and exited; a home
  // removed meanwhile fails with ENOTEMPTY. Wait (with a deadline) for it to be gone.
  const deadline = Date.now() + 30_000;
  while (pid && isAlive(pid) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
}

/** Writes dir/NAME.ini and brings its groups up with `durun up -f`; throws with durun's stderr on failure. */
export function policyUp(env: NodeJS.ProcessEnv, dir: string, name: string, text: string): void {
  const file = path.join(dir, `${name}.ini`);
  writeFileSync(file, text);
  const r = durunSync(env, ['up', '-f', file]);
  if (r.code !== 0) throw new Error(`durun up -f ${file} exited ${r.code}: ${r.stderr}`);
}
