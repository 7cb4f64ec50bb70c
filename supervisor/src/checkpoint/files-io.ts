// Byte moving shared by file capture and restore: whole reads at an offset,
// ranges copied between two open files, FICLONE where the filesystem has it,
// and the tail checksum that lets an append-only file be merely truncated.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { addon } from '../peercred.js';
import { TAIL } from './files-format.js';

/** Errors of FICLONE that mean "these filesystems cannot clone": copy instead. */
const NO_CLONE = new Set(['EOPNOTSUPP', 'EXDEV', 'EINVAL', 'ENOTTY', 'ENOSYS']);

/** The whole of src shares its blocks with dst (FICLONE); false where the filesystem (pair) cannot. */
export function cloneInto(dst: FileHandle, src: FileHandle): boolean {
  try {
    addon.cloneFile(dst.fd, src.fd);
    return true;
  } catch (err) {
    if (NO_CLONE.has((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  }
}

/** Reads exactly buf.length bytes at pos (past the end of a file that shrank meanwhile: zeros). */
export async function readFully(fh: FileHandle, buf: Buffer, pos: number): Promise<void> {
  for (let got = 0; got < buf.length;) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, pos + got);
    if (bytesRead === 0) {
      buf.fill(0, got);
      return;
    }
    got += bytesRead;
  }
}

/** Copies len bytes of src at `from` to dst at `to`. */
export async function copyRange(src: FileHandle, dst: FileHandle, from: number, to: number, len: number): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(len, 1)));
  for (let done = 0; done < len;) {
    const n = Math.min(buf.length, len - done);
    await readFully(src, buf.subarray(0, n), from + done);
    await dst.write(buf, 0, n, to + done);
    done += n;
  }
}

/** SHA-256 (hex) of the last TAIL bytes (or fewer) before `size`. */
export async function tailSum(fh: FileHandle, size: number): Promise<string> {
  const len = Math.min(size, TAIL);
  const buf = Buffer.alloc(len);
  await readFully(fh, buf, size - len);
  return createHash('sha256').update(buf).digest('hex');
}
