// A child process whose output the test reads as it comes, and a deadline
// to race it against. Still node:child_process, not execa: started through
// execa (whole env, stdin ignored, output not buffered), the lazy restore of
// test/native-lazy ended its restored process before all its memory was back
// (issue 13; the cause is not known yet).
import { spawn, type ChildProcess } from 'node:child_process';

export interface Spawned {
  child: ChildProcess;
  out: string;
  err: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts argv (wrap: e.g. setpriv to another user) with stdout/stderr collected; pushes it on `into`. */
export function spawnCollected(argv: string[], env: NodeJS.ProcessEnv, into: ChildProcess[]): Spawned {
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
