// Captures the files of a group at the barrier (while every member is
// parked, so no write of the group lands in the middle): a copy-on-write
// clone where the filesystem offers FICLONE (probed per filesystem at run
// time), otherwise what changed since the parent checkpoint's copy (an
// append-only file: the bytes it grew by; any other: the blocks whose SHA-256
// differs), or the whole file. Copies go into ID/files/ (0600, created
// O_EXCL|O_NOFOLLOW), so an aborted checkpoint's copies go with its
// directory and the previous checkpoint is never touched.
import { createHash } from 'node:crypto';
import { constants, mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from './images.js';
import type { Manifest } from './manifest.js';
import { heldFiles, treeFiles, type FileTarget } from './files-scan.js';
import { BLOCK, FILES_DIR, type FileEntry, type FilesRecord } from './files-format.js';
import { cloneInto, copyRange, readFully, tailSum } from './files-io.js';

export interface CaptureInput {
  /** The checkpoint's directory (files go to DIR/files/). */
  dir: string;
  /** Outer pids of the parked members. */
  pids: number[];
  /** Directories named by checkpoint.files. */
  roots: string[];
  /** Trees never captured (DURUN_HOME, the checkpoint directory). */
  exclude: string[];
  /** The committed checkpoint this one's copies may chain onto, or null for whole copies. */
  parent: { id: string; files: FileEntry[] } | null;
  /** Never clone (tests force the copy path: DURUN_FAULT=supervisor:no-ficlone). */
  noClone: boolean;
  /** Fail once the first copy is written (tests of an abort half-way: DURUN_FAULT=supervisor:files-fail). */
  failHalfway: boolean;
}

/** Devices found unable to clone, so each checkpoint probes a filesystem once. */
const cannotClone = new Set<number>();

/** Captures every file the members hold for writing and every file under the named directories. */
export async function captureFiles(input: CaptureInput): Promise<FilesRecord & { chained: boolean }> {
  const held = heldFiles(input.pids, input.exclude);
  const { files, trees } = treeFiles(input.roots);
  const targets = new Map<string, FileTarget>(files.map((f) => [f.path, f]));
  for (const [p, t] of held) targets.set(p, t);
  if (targets.size === 0) return { entries: [], trees, chained: false };
  const out = path.join(input.dir, FILES_DIR);
  mkdirSync(out, { mode: 0o700 });
  const prior = new Map((input.parent?.files ?? []).map((e) => [e.path, e]));
  const entries: FileEntry[] = [];
  let n = 0;
  for (const t of targets.values()) {
    const e = await captureOne(t, path.join(out, String(++n)), prior.get(t.path), input);
    if (e) entries.push(e);
    if (input.failHalfway) throw new Error(`fault injection: file capture fails after copying ${t.path}`);
  }
  return { entries, trees, chained: entries.some((e) => e.base !== null) };
}

/**
 * After the members resumed: the SHA-256 of each copy (checked on restore
 * before anything is written back), and the files in the manifest; copies
 * that build on the parent checkpoint keep it from being pruned.
 */
export async function withFiles(m: Manifest, files: FilesRecord & { chained: boolean }, parent: string | null): Promise<Manifest> {
  await Promise.all(files.entries.map(async (e) => {
    e.sha256 = await sha256File(e.data);
  }));
  if (files.entries.length === 0 && files.trees.length === 0) return m;
  return {
    ...m, files: files.entries, trees: files.trees, parent: m.parent ?? (files.chained ? parent : null),
    bytes: m.bytes + files.entries.reduce((n, e) => n + e.bytes, 0),
  };
}

async function captureOne(t: FileTarget, data: string, prior: FileEntry | undefined, input: CaptureInput): Promise<FileEntry | null> {
  let src: FileHandle;
  try {
    // The holder's fd reaches the very file the program has open (even if renamed since); a path is not followed if a link.
    src = await open(t.via ?? t.path, t.via ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return null; // closed or replaced meanwhile: nothing of it to roll back
    throw new Error(`cannot read ${t.path} to checkpoint it: ${(err as Error).message}`);
  }
  const dst = await open(data, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    const st = await src.stat();
    const e: FileEntry = {
      path: t.path, dev: st.dev, ino: st.ino, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, how: 'copy', data,
      extents: [], base: null, appendOnly: t.appendOnly, tail: await tailSum(src, st.size), sums: null, sha256: '', bytes: 0,
    };
    if (!input.noClone && !cannotClone.has(st.dev) && cloned(dst, src, st.dev)) {
      e.how = 'clone';
      e.bytes = st.size;
      return e;
    }
    const same = prior && prior.dev === st.dev && prior.ino === st.ino && input.parent;
    if (same && t.appendOnly && prior.appendOnly && prior.size <= st.size) {
      Object.assign(e, { how: 'append', base: input.parent!.id, extents: st.size > prior.size ? [[prior.size, st.size - prior.size]] : [] });
    } else if (same && !t.appendOnly && prior.sums) {
      const { changed, sums } = await changedBlocks(src, st.size, await readSums(prior.sums));
      Object.assign(e, { how: 'blocks', base: input.parent!.id, extents: changed });
      e.sums = await writeSums(`${data}.sums`, sums);
    } else {
      e.extents = st.size > 0 ? [[0, st.size]] : [];
      if (!t.appendOnly) e.sums = await writeSums(`${data}.sums`, await blockSums(src, st.size));
    }
    e.bytes = await copyExtents(src, dst, e.extents);
    return e;
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}

/** FICLONE from src into dst; false (and the device remembered) where the filesystem cannot. */
function cloned(dst: FileHandle, src: FileHandle, dev: number): boolean {
  if (cloneInto(dst, src)) return true;
  cannotClone.add(dev);
  return false;
}

/** Copies the extents of src into dst, back to back; the bytes written. */
async function copyExtents(src: FileHandle, dst: FileHandle, extents: Array<[number, number]>): Promise<number> {
  let out = 0;
  for (const [off, len] of extents) {
    await copyRange(src, dst, off, out, len);
    out += len;
  }
  return out;
}

async function blockSums(fh: FileHandle, size: number): Promise<Buffer[]> {
  const sums: Buffer[] = [];
  const buf = Buffer.allocUnsafe(BLOCK);
  for (let off = 0; off < size; off += BLOCK) {
    const b = buf.subarray(0, Math.min(BLOCK, size - off));
    await readFully(fh, b, off);
    sums.push(createHash('sha256').update(b).digest());
  }
  return sums;
}

/** Blocks whose sum differs from the prior one (or are new), merged into extents. */
async function changedBlocks(fh: FileHandle, size: number, prior: Buffer[]): Promise<{ changed: Array<[number, number]>; sums: Buffer[] }> {
  const sums = await blockSums(fh, size);
  const changed: Array<[number, number]> = [];
  sums.forEach((s, i) => {
    if (prior[i]?.equals(s)) return;
    const off = i * BLOCK;
    const len = Math.min(BLOCK, size - off);
    const last = changed[changed.length - 1];
    if (last && last[0] + last[1] === off) last[1] += len;
    else changed.push([off, len]);
  });
  return { changed, sums };
}

async function writeSums(file: string, sums: Buffer[]): Promise<string> {
  const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(Buffer.concat(sums));
  } finally {
    await fh.close();
  }
  return file;
}

async function readSums(file: string): Promise<Buffer[]> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const all = await fh.readFile();
    const out: Buffer[] = [];
    for (let i = 0; i + 32 <= all.length; i += 32) out.push(all.subarray(i, i + 32));
    return out;
  } finally {
    await fh.close();
  }
}
