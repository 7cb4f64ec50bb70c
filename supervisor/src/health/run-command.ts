// Runs one shell command (a health check or an on_event hook) under
// build/durun-reap, so a timeout kills its whole process tree and nothing it
// started is left running or a zombie (see supervisor/reaper/reaper.c).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:os';
import { lookupUser } from '../groups/users.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const REAPER_BIN = path.join(ROOT, 'build', 'durun-reap');
/** After asking the reaper to kill the tree, how long before we SIGKILL the reaper itself. */
const REAPER_GRACE_MS = 2000;
/** Output kept per run: enough for a verdict line and an error message. */
const OUTPUT_KEEP = 4096;

export interface CommandResult {
  /** Exit status of the command (128+N when signal N killed it); null when it timed out. */
  status: number | null;
  timedOut: boolean;
  durationMs: number;
  /** Last OUTPUT_KEEP bytes of stdout+stderr. */
  output: string;
  /** Pid of the reaper (the tree's root); lets tests check /proc afterwards. */
  pid: number;
}

/** user: an account name or uid (a group's `user =`) to run as; null or absent runs as the supervisor. */
export interface CommandOptions { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv; input?: string; user?: string | null }

/** Runs `sh -c command` and resolves when it and all its descendants are gone. */
export async function runCommand(command: string, opts: CommandOptions): Promise<CommandResult> {
  if (!existsSync(REAPER_BIN)) throw new Error(`${REAPER_BIN} is missing; build it with: make -C ${ROOT}`);
  const env = { ...(opts.env ?? process.env) };
  delete env.LD_PRELOAD; // a check is not part of the group it checks
  const account = opts.user ? lookupUser(opts.user) : undefined;
  if (account) env.HOME = account.home;
  const started = Date.now();
  // execa is loaded with the first check or hook: a supervisor without any never pays for it.
  const { execa } = await import('execa');
  const child = execa(REAPER_BIN, ['--', '/bin/sh', '-c', command], {
    cwd: opts.cwd, env, extendEnv: false, reject: false, buffer: false,
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    ...(account ? { uid: account.uid, gid: account.gid } : {}),
    // On timeout the reaper gets SIGTERM (it SIGKILLs and reaps the whole tree, then exits), and SIGKILL itself after the grace.
    timeout: opts.timeoutMs, killSignal: 'SIGTERM', forceKillAfterDelay: REAPER_GRACE_MS,
  });
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > OUTPUT_KEEP) output = output.slice(-OUTPUT_KEEP);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const r = await child;
  if (r.failed && !r.timedOut && r.exitCode === undefined && r.signal === undefined) throw new Error(`cannot run ${REAPER_BIN}: ${r.shortMessage}`);
  const status = r.timedOut ? null : r.signal ? 128 + (constants.signals[r.signal] ?? 0) : r.exitCode ?? null;
  return { status, timedOut: r.timedOut, durationMs: Date.now() - started, output, pid: child.pid ?? 0 };
}
