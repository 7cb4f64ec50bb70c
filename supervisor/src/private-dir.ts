// Directories durun writes secrets into (its home, checkpoint directories)
// must be the user's own and closed to others; durun refuses, with the
// reason, rather than trusting or chmod'ing a directory someone else could
// have filled or could swap (a planted checkpoint would be restored as the
// user, root included).
import { lstatSync, mkdirSync, type Stats } from 'node:fs';
import path from 'node:path';

export class PrivateDirError extends Error {}

const OWN_UID = process.getuid!();

function describe(st: Stats): string {
  return `owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/**
 * Creates dir (0700) if missing and checks it and every ancestor: dir must
 * be a real directory (not a symlink) owned by this user and writable by
 * no one else; an ancestor must be owned by this user or root and, if
 * others may write to it, carry the sticky bit (as /tmp does), so no one
 * else can rename a component away.
 */
export function ensurePrivateDir(dir: string, what: string): void {
  const abs = path.resolve(dir);
  const ancestors: string[] = [];
  for (let d = path.dirname(abs); ; d = path.dirname(d)) {
    ancestors.unshift(d);
    if (d === path.dirname(d)) break;
  }
  // From / down: each is checked before anything is created in it.
  for (const d of ancestors) {
    if (lstatOrNull(d) === null) mkdirSync(d, { mode: 0o700 });
    checkParent(d, abs, what);
  }
  if (lstatOrNull(abs) === null) mkdirSync(abs, { mode: 0o700 });
  const own = lstatSync(abs);
  if (!own.isDirectory()) throw new PrivateDirError(`${what} ${abs} is not a directory (a symlink?); durun writes only into a real directory of its own`);
  if (own.uid !== OWN_UID) throw new PrivateDirError(`${what} ${abs} belongs to uid ${own.uid}, not to you (uid ${OWN_UID}); use a directory of your own`);
  if ((own.mode & 0o022) !== 0) throw new PrivateDirError(`${what} ${abs} may be written by others (${describe(own)}); run chmod go-w ${abs} if that is intended to be yours, or use another directory`);
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** An ancestor of a private directory: this user's or root's, and if others may write it, sticky. */
function checkParent(up: string, abs: string, what: string): void {
  const st = lstatSync(up);
  const ownerOk = st.uid === OWN_UID || st.uid === 0;
  const othersWrite = (st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0;
  if (!ownerOk || othersWrite) throw new PrivateDirError(`${what} ${abs} lies under ${up} (${describe(st)}), which someone else could change; use a directory whose parents only you or root may write`);
}
