// Where a user's durun state lives, and making sure it is private to them.
import { mkdirSync, statSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENV, SOCK_NAME } from './names.js';

/** $DURUN_HOME, else $XDG_STATE_HOME/durun, else ~/.local/state/durun. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env[ENV.home]) return path.resolve(env[ENV.home]!);
  if (env.XDG_STATE_HOME) return path.join(env.XDG_STATE_HOME, 'durun');
  return path.join(env.HOME || os.homedir(), '.local', 'state', 'durun');
}

export function socketPath(home: string): string {
  return path.join(home, SOCK_NAME);
}

/** Problem with a state directory that the operator has to fix. */
export class HomeError extends Error {}

/**
 * Creates the state directory 0700 if needed and refuses one that another
 * user owns or that others can read: it holds the control socket, logs and
 * checkpoint images (process memory).
 */
export function ensurePrivateHome(home: string): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const st = statSync(home);
  const uid = process.getuid!();
  if (st.uid !== uid) {
    throw new HomeError(`${home} belongs to uid ${st.uid}, not to you (uid ${uid}); set DURUN_HOME to a directory of your own`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(home, 0o700);
}
