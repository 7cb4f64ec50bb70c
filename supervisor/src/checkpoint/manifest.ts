// The group checkpoint manifest (ARCHITECTURE.md, "Checkpoint manifest"):
// what a checkpoint holds, where, and what must still be true to restore it.
// Written last (tmp + fsync + rename + dir fsync), so a directory without
// manifest.json is an unfinished checkpoint and is never restored.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { readJson } from '../persist.js';
import type { RestartPolicy } from '../protocol/messages.js';
import type { RestartOptions } from '../model/types.js';
import type { FileEntry, TreeShape } from './files-format.js';

export const MANIFEST = 'manifest.json';

export interface ManifestProgram {
  id: number;
  argv: string[];
  cwd: string;
  restart: RestartPolicy;
  options: RestartOptions;
  /** Environment of the program's root process at checkpoint time. */
  env: Record<string, string>;
}

export interface ManifestProcess {
  /** Pid as the supervisor saw it (outside any pid namespace). */
  pid: number;
  /** Pid the process sees itself (its pid inside the namespace after a restore); what the image holds. */
  innerPid: number;
  ppid: number;
  program: number;
  exe: string;
  exeSize: number;
  exeMtimeMs: number;
  image: string;
  sha256: string;
  bytes: number;
  kind: 'full' | 'incremental';
  /** The image this incremental one chains onto (absolute path), or null. */
  parentImage: string | null;
  stallNs: number;
}

export interface Manifest {
  version: 1;
  group: string;
  id: string;
  /** Checkpoint the incremental images or file copies of this one chain onto, or null when all are whole. */
  parent: string | null;
  createdAt: string;
  durationMs: number;
  /** How long the programs were held in the barrier (first parked until release). */
  stallMs: number;
  /** The longest time the engine had a process's threads stopped to write its image. */
  dumpStallMs: number;
  bytes: number;
  programs: ManifestProgram[];
  processes: ManifestProcess[];
  /** Files captured with the processes (absent in checkpoints taken before files were). */
  files?: FileEntry[];
  /** Directories named by checkpoint.files, as they were. */
  trees?: TreeShape[];
}

/** Writes dir/manifest.json durably: temp file, fsync, rename, fsync of the directory. */
export function commitManifest(dir: string, m: Manifest): void {
  const file = path.join(dir, MANIFEST);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(m, null, 1));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** The manifest of a checkpoint directory, or null when it was never committed. */
export function readManifest(dir: string): Manifest | null {
  const m = readJson<Manifest>(path.join(dir, MANIFEST));
  if (m && m.version !== 1) throw new Error(`${path.join(dir, MANIFEST)}: unknown manifest version ${String(m.version)}`);
  return m;
}

/** Committed checkpoints of a group's directory, oldest first (ids sort by time). */
export function listManifests(groupDir: string): Array<{ dir: string; manifest: Manifest }> {
  let names: string[];
  try {
    names = readdirSync(groupDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Array<{ dir: string; manifest: Manifest }> = [];
  for (const name of names.sort()) {
    const dir = path.join(groupDir, name);
    try {
      const manifest = readManifest(dir);
      if (manifest) out.push({ dir, manifest });
    } catch {
      // An unreadable manifest is not a checkpoint; restore names it when asked for it by id.
    }
  }
  return out;
}

/**
 * Which checkpoints to delete so that `keep` remain, never one an incremental
 * image of a kept checkpoint still chains onto. Pure.
 */
export function pruneList(all: Manifest[], keep: number): string[] {
  const byId = new Map(all.map((m) => [m.id, m]));
  const kept = new Set<string>();
  for (const m of all.slice(Math.max(0, all.length - Math.max(1, keep)))) {
    for (let cur: Manifest | undefined = m; cur && !kept.has(cur.id); cur = cur.parent ? byId.get(cur.parent) : undefined) kept.add(cur.id);
  }
  return all.filter((m) => !kept.has(m.id)).map((m) => m.id);
}
