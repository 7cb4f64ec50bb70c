// The `disk` destination: one file per key under $DURUN_HOME/state/SCOPE/
// (0700; files 0600), written tmp (O_EXCL|O_NOFOLLOW) + fsync + rename +
// fsync of the directory before the save is acknowledged, so an
// acknowledged save survives a supervisor restart and a power loss.
// File: "DURUNST1\n", one JSON line {key, ts}, then the value's bytes; its
// name is the SHA-256 of the key (keys may hold any character).
import { createHash } from 'node:crypto';
import { closeSync, constants, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { StateRecord } from './records.js';

const MAGIC = 'DURUNST1\n';

export class DiskTier {
  constructor(private readonly root: string) {}

  private dir(scope: string): string {
    return path.join(this.root, scope);
  }

  private file(scope: string, key: string): string {
    return path.join(this.dir(scope), createHash('sha256').update(key).digest('hex'));
  }

  /** Every record of a scope (a torn or foreign file is named in the error). */
  readAll(scope: string): Map<string, StateRecord> {
    const out = new Map<string, StateRecord>();
    let names: string[];
    try {
      names = readdirSync(this.dir(scope));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw err;
    }
    for (const name of names) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue; // a temp file of a save cut short: never acknowledged
      const file = path.join(this.dir(scope), name);
      const buf = readFileSync(file);
      const nl = buf.indexOf(10, MAGIC.length);
      if (buf.subarray(0, MAGIC.length).toString('latin1') !== MAGIC || nl < 0) throw new Error(`${file} is not a durun state file`);
      const head = JSON.parse(buf.subarray(MAGIC.length, nl).toString('utf8')) as { key: string; ts: number };
      out.set(head.key, { ts: head.ts, data: Buffer.from(buf.subarray(nl + 1)) });
    }
    return out;
  }

  write(scope: string, key: string, rec: StateRecord): void {
    const dir = this.dir(scope);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = this.file(scope, key);
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, Buffer.concat([Buffer.from(MAGIC + JSON.stringify({ key, ts: rec.ts }) + '\n'), rec.data]));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    syncDir(dir);
  }

  remove(scope: string, key: string): void {
    try {
      unlinkSync(this.file(scope, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    syncDir(this.dir(scope));
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
