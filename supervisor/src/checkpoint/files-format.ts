// How a checkpoint records files (ARCHITECTURE.md, "File copies"): one
// entry per file in the manifest, its data under ID/files/ (0600). Shared by
// capture (files-capture.ts) and restore (files-restore.ts).
import path from 'node:path';
import type { TreeShape } from './files-scan.js';

export type { TreeShape };

/**
 * clone: a copy-on-write clone of the whole file (FICLONE);
 * copy: the whole file, copied;
 * append: the bytes the file grew by since the parent checkpoint's entry (every holder had it O_APPEND);
 * blocks: the BLOCK-sized blocks that differ from the parent checkpoint's entry (by their SHA-256 in its sums file).
 */
export type FileHow = 'clone' | 'copy' | 'append' | 'blocks';

export interface FileEntry {
  path: string;
  dev: number;
  ino: number;
  /** Permission bits and owner, for a file that must be created again on restore. */
  mode: number;
  uid: number;
  gid: number;
  /** Length at the checkpoint. */
  size: number;
  how: FileHow;
  /** The data file (absolute, inside the checkpoint's files/). */
  data: string;
  /** copy/append/blocks: [offset, length] pairs, their bytes concatenated in the data file in this order. */
  extents: Array<[number, number]>;
  /** append/blocks: the checkpoint (id) whose entry for the same path this one applies on. */
  base: string | null;
  appendOnly: boolean;
  /** SHA-256 of the last TAIL bytes (or fewer) before `size`: an append-only file whose tail still matches is only truncated on restore. */
  tail: string;
  /** copy/blocks of a file not append-only: per-BLOCK SHA-256 sums (absolute path), what the next checkpoint compares against. */
  sums: string | null;
  /** SHA-256 and length of the data file, checked before anything is written back. */
  sha256: string;
  bytes: number;
}

export interface FilesRecord { entries: FileEntry[]; trees: TreeShape[] }

export const BLOCK = 64 * 1024;
export const TAIL = 64 * 1024;
export const FILES_DIR = 'files';

/** The directory of checkpoint `id` beside the checkpoint directory `dir`. */
export function siblingDir(dir: string, id: string): string {
  return path.join(path.dirname(dir), id);
}
