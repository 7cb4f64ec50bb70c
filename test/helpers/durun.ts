// Running the real `durun` command in a test's private DURUN_HOME.
import type { ChildProcess } from 'node:child_process';
import { execa, execaSync } from 'execa';
import { DURUN_BIN } from './paths.js';
import type { PsView, GroupView } from '../../supervisor/src/protocol/views.js';
import { isAlive, waitFor } from './wait.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * execa (the project's spawning library) set to behave as node:child_process
 * did here: the env given is the whole environment (a test removes
 * DURUN_HOME or LD_PRELOAD on purpose), output as printed, no exception for a
 * non-zero exit (the tests read the code).
 */
const SAME_AS_SPAWN = { extendEnv: false, stripFinalNewline: false, reject: false } as const;

export interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs durun to completion (for commands that end by themselves). */
export function durunSync(env: NodeJS.ProcessEnv, args: string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): Result {
  const res = execaSync(DURUN_BIN, args, { ...SAME_AS_SPAWN, env, input: opts.input ?? '', timeout: opts.timeoutMs ?? 30_000, cwd: opts.cwd });
  if (res.failed && res.exitCode === undefined && res.signal === undefined && !res.timedOut) throw new Error(res.shortMessage);
  return { code: res.exitCode ?? null, signal: res.signal ?? null, stdout: res.stdout, stderr: res.stderr };
}

/** Starts durun in the background; the returned promise settles when it exits. */
export function durunAsync(env: NodeJS.ProcessEnv, args: string[], opts: { cwd?: string; detached?: boolean } = {}): { child: ChildProcess; done: Promise<Result>; out: () => string } {
  const child = execa(DURUN_BIN, args, { ...SAME_AS_SPAWN, env, stdin: 'ignore', buffer: false, ...opts });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const done = child.then((r) => {
    if (r.failed && r.exitCode === undefined && r.signal === undefined) throw new Error(r.shortMessage);
    return { code: r.exitCode ?? null, signal: r.signal ?? null, stdout, stderr };
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
  execaSync(DURUN_BIN, ['shutdown', '--stop-all'], { ...SAME_AS_SPAWN, env, timeout: 30_000 });
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
