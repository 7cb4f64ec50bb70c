// Each test gets its own DURUN_HOME, so its supervisor, socket and logs are
// independent of every other test and of the developer's own.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempHome {
  dir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/**
 * Removes a test's scratch tree. A supervisor told to shut down, its runners
 * and a checkpoint writer may still be writing their last lines there for a
 * moment, so a directory that refills while it is emptied is tried again.
 */
export function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
}

export function tempHome(prefix = 'durun-test-'): TempHome {
  // Short base: Unix socket paths are limited to 107 bytes.
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = { ...process.env, DURUN_HOME: dir };
  delete env.LD_PRELOAD;
  return { dir, env, cleanup: () => removeTree(dir) };
}
