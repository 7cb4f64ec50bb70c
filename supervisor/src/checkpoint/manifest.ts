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
  /** How long the programs were held, as the longest-held member saw it (its signal to its threads running again). */
  stallMs: number;
  /** The barrier's window as the supervisor saw it: first member parked until the release was sent. */
  barrierMs?: number;
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

/**
 * The manifest of a checkpoint directory, or null when it was never
 * committed. A damaged one (not JSON, empty, a field missing or of the wrong
 * type, no process) is refused, naming the file and what is wrong: a restore
 * from it would start nothing, or the wrong thing.
 */
export function readManifest(dir: string): Manifest | null {
  const file = path.join(dir, MANIFEST);
  const m = readJson<Manifest>(file);
  if (m === null) return null;
  const bad = manifestProblem(m);
  if (bad) throw new Error(`${file}: ${bad}; this checkpoint cannot be restored (durun checkpoints lists the others)`);
  return m;
}

const isStr = (v: unknown) => typeof v === 'string' && v !== '';
const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/** What makes a parsed manifest unusable, or null. */
function manifestProblem(m: unknown): string | null {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'not a JSON object';
  const o = m as Record<string, unknown>;
  if (o.version !== 1) return `unknown manifest version ${String(o.version)}`;
  for (const k of ['group', 'id', 'createdAt'] as const) if (!isStr(o[k])) return `"${k}" is missing or not a string`;
  if (!Array.isArray(o.programs) || o.programs.length === 0) return 'it names no program';
  if (!Array.isArray(o.processes) || o.processes.length === 0) return 'it names no process';
  for (const [i, p] of (o.programs as unknown[]).entries()) {
    const q = p as Record<string, unknown>;
    if (!isNum(q?.id) || !Array.isArray(q?.argv) || (q.argv as unknown[]).length === 0) return `program #${i} lacks its id or argv`;
  }
  for (const [i, p] of (o.processes as unknown[]).entries()) {
    const q = p as Record<string, unknown>;
    if (!isNum(q?.pid) || !isNum(q?.innerPid) || !isNum(q?.program) || !isStr(q?.image) || !isStr(q?.sha256)) {
      return `process #${i} lacks its pid, program, image or checksum`;
    }
  }
  return null;
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
