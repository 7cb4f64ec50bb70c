// Runs one shell command (a health check or an on_event hook) under
// build/durun-reap, so a timeout kills its whole process tree and nothing it
// started is left running or a zombie (see supervisor/reaper/reaper.c).
import { spawn } from 'node:child_process';
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
export function runCommand(command: string, opts: CommandOptions): Promise<CommandResult> {
  if (!existsSync(REAPER_BIN)) {
    return Promise.reject(new Error(`${REAPER_BIN} is missing; build it with: make -C ${ROOT}`));
  }
  const env = { ...(opts.env ?? process.env) };
  delete env.LD_PRELOAD; // a check is not part of the group it checks
  let account: { uid: number; gid: number; home: string } | undefined;
  try {
    account = opts.user ? lookupUser(opts.user) : undefined;
  } catch (err) {
    return Promise.reject(err);
  }
  if (account) env.HOME = account.home;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(REAPER_BIN, ['--', '/bin/sh', '-c', command], {
      cwd: opts.cwd, env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
    });
    let output = '';
    const keep = (d: Buffer) => {
      output += d.toString();
      if (output.length > OUTPUT_KEEP) output = output.slice(-OUTPUT_KEEP);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => { /* EPIPE: the command did not read its stdin; its status still counts */ });
      child.stdin!.end(opts.input);
    }
    let timedOut = false;
    let backstop: NodeJS.Timeout | null = null;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM'); // the reaper SIGKILLs and reaps the whole tree, then exits
      backstop = setTimeout(() => child.kill('SIGKILL'), REAPER_GRACE_MS);
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${REAPER_BIN}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (backstop) clearTimeout(backstop);
      const status = timedOut ? null : signal ? 128 + (constants.signals[signal] ?? 0) : code;
      resolve({ status, timedOut, durationMs: Date.now() - started, output, pid: child.pid ?? 0 });
    });
  });
}
