// Which files roll back with a group (docs/policy.md, "Files in a
// checkpoint"): every regular file a member process holds open for writing
// or maps shared and writable, read from /proc while the members are parked
// at the barrier, and every file under the directories the policy names
// (`checkpoint.files`). Pure reading; capture is files-capture.ts.
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';

/** A file to capture: its path, how the group reaches it. */
export interface FileTarget {
  path: string;
  /** /proc/PID/fd/N of a holder, to read the very file the program has open (null for a directory's file not held open). */
  via: string | null;
  /** Every holder opened it O_APPEND (writes only ever land at the end), so a later checkpoint may store just what grew. */
  appendOnly: boolean;
}

/** A directory named by checkpoint.files, as it was: its subdirectories and symlinks (files are FileTargets). */
export interface TreeShape { root: string; dirs: string[]; links: Array<{ path: string; target: string }> }

const O_ACCMODE = 0o3;
const O_APPEND = 0o2000;

/** Open-for-writing and shared-writable regular files of the processes, outside `exclude` (durun's own state). */
export function heldFiles(pids: number[], exclude: string[]): Map<string, FileTarget> {
  const out = new Map<string, FileTarget>();
  const keep = (p: string) => p.startsWith('/') && !p.endsWith(' (deleted)') && !exclude.some((d) => p === d || p.startsWith(`${d}/`));
  for (const pid of pids) {
    for (const fd of list(`/proc/${pid}/fd`)) {
      const via = `/proc/${pid}/fd/${fd}`;
      let target: string;
      let flags: number;
      try {
        target = readlinkSync(via);
        const m = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1'));
        if (!m) continue;
        flags = parseInt(m[1]!, 8);
        if ((flags & O_ACCMODE) === 0 || !keep(target) || !statSync(via).isFile()) continue;
      } catch (err) {
        if (gone(err)) continue; // closed between the listing and the look
        throw err;
      }
      const prev = out.get(target);
      out.set(target, { path: target, via: prev?.via ?? via, appendOnly: (prev?.appendOnly ?? true) && (flags & O_APPEND) !== 0 });
    }
    // MAP_SHARED and writable: the program writes the file through memory, with no fd needed.
    let maps: string;
    try {
      maps = readFileSync(`/proc/${pid}/maps`, 'latin1');
    } catch (err) {
      if (gone(err)) continue;
      throw err;
    }
    for (const line of maps.split('\n')) {
      const m = /^\S+ (\S{4}) \S+ \S+ \d+\s+(\/.*)$/.exec(line);
      if (!m || m[1]![1] !== 'w' || m[1]![3] !== 's' || !keep(m[2]!) || out.has(m[2]!)) continue;
      let file = false;
      try {
        file = statSync(m[2]!).isFile();
      } catch (err) {
        if (!gone(err)) throw err;
      }
      if (file) out.set(m[2]!, { path: m[2]!, via: null, appendOnly: false });
    }
  }
  return out;
}

/** Every regular file under each named directory, plus the shape to rebuild (subdirectories, symlinks). */
export function treeFiles(roots: string[]): { files: FileTarget[]; trees: TreeShape[] } {
  const files: FileTarget[] = [];
  const trees: TreeShape[] = [];
  for (const root of roots) {
    const tree: TreeShape = { root, dirs: [], links: [] };
    const walk = (dir: string) => {
      for (const name of readdirSync(dir).sort()) {
        const p = path.join(dir, name);
        const st = lstatSync(p);
        if (st.isDirectory()) {
          tree.dirs.push(p);
          walk(p);
        } else if (st.isSymbolicLink()) tree.links.push({ path: p, target: readlinkSync(p) });
        else if (st.isFile()) files.push({ path: p, via: null, appendOnly: false });
        // sockets, fifos, devices: not content, left as they are
      }
    };
    try {
      if (!lstatSync(root).isDirectory()) throw new Error(`checkpoint.files names ${root}, which is not a directory`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`checkpoint.files names ${root}, which does not exist`);
      throw err;
    }
    walk(root);
    trees.push(tree);
  }
  return { files, trees };
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if (gone(err)) return [];
    throw err;
  }
}

/** The process or fd is gone: ENOENT/ESRCH from /proc. */
function gone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}
