// Puts a checkpoint's files back before its processes run again: first
// every copy along every chain is checked (present, SHA-256), so a damaged
// checkpoint is refused before anything is touched; then each directory
// named by checkpoint.files is made as it was (what appeared since is
// removed, what went is made again) and each file gets its content back, in
// place (the same inode, so other holders see it): an append-only file whose
// tail still matches is only truncated; otherwise it is rebuilt from the
// newest whole copy (cloned back where FICLONE works) plus the deltas after.
import { constants, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from './images.js';
import { readManifest, type Manifest } from './manifest.js';
import { siblingDir, type FileEntry } from './files-format.js';
import { cloneInto, copyRange, tailSum } from './files-io.js';

/** Each file's chain, oldest (a whole copy) first; throws naming what is missing or damaged. */
export async function verifyFiles(dir: string, m: Manifest): Promise<Map<string, FileEntry[]>> {
  const chains = new Map<string, FileEntry[]>();
  const checked = new Set<string>();
  for (const e of m.files ?? []) {
    const chain: FileEntry[] = [];
    for (let cur: FileEntry | undefined = e, owner = m; cur;) {
      chain.unshift(cur);
      if (!checked.has(cur.data)) {
        let sum: string;
        try {
          sum = await sha256File(cur.data);
        } catch (err) {
          throw new Error(`copy ${cur.data} of ${cur.path} (checkpoint ${owner.id}) cannot be read (${(err as Error).message}); refusing to restore`);
        }
        if (sum !== cur.sha256) throw new Error(`copy ${cur.data} of ${cur.path} (checkpoint ${owner.id}) fails its checksum; refusing to restore`);
        checked.add(cur.data);
      }
      if (!cur.base) break;
      const pm = readManifest(siblingDir(dir, cur.base));
      const prev: FileEntry | undefined = pm?.files?.find((x) => x.path === cur!.path);
      if (!pm || !prev) throw new Error(`the copy of ${cur.path} in checkpoint ${owner.id} builds on checkpoint ${cur.base}, which is gone or does not have it; refusing to restore`);
      owner = pm;
      cur = prev;
    }
    chains.set(e.path, chain);
  }
  return chains;
}

/** Writes every file and directory of the checkpoint back (the group's processes are stopped). */
export async function restoreFiles(m: Manifest, chains: Map<string, FileEntry[]>): Promise<void> {
  for (const t of m.trees ?? []) {
    const keepFiles = new Set((m.files ?? []).map((e) => e.path));
    const dirs = new Set([t.root, ...t.dirs]);
    const links = new Map(t.links.map((l) => [l.path, l.target]));
    prune(t.root, dirs, links, keepFiles);
    for (const d of t.dirs) mkdirSync(d, { recursive: true, mode: 0o700 });
    for (const [p, target] of links) {
      if (!exists(p)) symlinkSync(target, p);
    }
  }
  for (const [file, chain] of chains) {
    try {
      await restoreOne(chain);
    } catch (err) {
      throw new Error(`cannot put back ${file}: ${(err as Error).message}`);
    }
  }
}

/** Removes from the tree at dir whatever the checkpoint did not have there (or had as something else). */
function prune(dir: string, dirs: Set<string>, links: Map<string, string>, files: Set<string>): void {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory() && dirs.has(p)) prune(p, dirs, links, files);
    else if (st.isSymbolicLink() && links.get(p) === readlinkSync(p)) continue;
    else if (st.isFile() && files.has(p)) continue;
    else if (st.isDirectory() || st.isSymbolicLink() || st.isFile()) rmSync(p, { recursive: true, force: true });
    // fifos, sockets, devices: not captured, so left as they are
  }
}

async function restoreOne(chain: FileEntry[]): Promise<void> {
  const last = chain[chain.length - 1]!;
  // A directory removed since the checkpoint is made again (mode from the umask: it was not captured).
  mkdirSync(path.dirname(last.path), { recursive: true });
  const fh = await open(last.path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, last.mode);
  try {
    const st = await fh.stat();
    if (st.size === 0 && st.uid !== last.uid && process.getuid!() === 0) await fh.chown(last.uid, last.gid);
    if (last.appendOnly && st.dev === last.dev && st.ino === last.ino && st.size >= last.size && (await tailSum(fh, last.size)) === last.tail) {
      await fh.truncate(last.size);
    } else {
      for (const e of chain) await apply(fh, e);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** One link of a chain: a whole copy replaces the content, a delta writes its extents; then the length of that checkpoint. */
async function apply(fh: FileHandle, e: FileEntry): Promise<void> {
  const src = await open(e.data, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (e.how === 'clone') {
      await fh.truncate(0);
      if (!cloneInto(fh, src)) await copyRange(src, fh, 0, 0, e.size);
    } else {
      if (e.base === null) await fh.truncate(0);
      let from = 0;
      for (const [off, len] of e.extents) {
        await copyRange(src, fh, from, off, len);
        from += len;
      }
    }
    await fh.truncate(e.size);
  } finally {
    await src.close();
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
