// Atomic JSON files: write to a temp file and rename it over the old one, so
// a crash at any moment leaves either the old or the new state, never a torn
// one. `durable` adds an fsync for files that must survive a power loss too.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

export function writeJsonAtomic(file: string, value: unknown, durable = false): void {
  writeFileAtomic(file, JSON.stringify(value), durable);
}

export function writeFileAtomic(file: string, text: string, durable = false): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Reads a JSON file; null when it does not exist. A corrupt file throws with its name. */
export function readJson<T>(file: string): T | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message})`);
  }
}
