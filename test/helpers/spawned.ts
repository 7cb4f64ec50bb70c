// A child process whose output the test reads as it comes, and a deadline
// to race it against.
import type { ChildProcess } from 'node:child_process';
import { execa } from 'execa';

export interface Spawned {
  child: ChildProcess;
  out: string;
  err: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts argv (wrap: e.g. setpriv to another user) with stdout/stderr collected; pushes it on `into`. */
export function spawnCollected(argv: string[], env: NodeJS.ProcessEnv, into: ChildProcess[]): Spawned {
  // The env given is the whole environment; a failure to run is an exit like any other here.
  const child = execa(argv[0]!, argv.slice(1), { env, extendEnv: false, stdin: 'ignore', buffer: false, reject: false });
  into.push(child);
  const p: Spawned = {
    child,
    out: '',
    err: '',
    exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout!.on('data', (d) => (p.out += d));
  child.stderr!.on('data', (d) => (p.err += d));
  return p;
}

/** Rejects after ms: a deadline, not a sleep (the race ends at the event). */
export function deadline(what: string, ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms).unref());
}
