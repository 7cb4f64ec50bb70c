// Typed access to the C addon (supervisor/peercred): SO_PEERCRED, flock and FICLONE.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface PeerCredAddon {
  peerCred(fd: number): { pid: number; uid: number; gid: number };
  lockExclusive(file: string): number;
  /** ioctl(dst, FICLONE, src); throws with code EOPNOTSUPP, EXDEV, EINVAL or ENOTTY where the filesystem cannot clone. */
  cloneFile(dstFd: number, srcFd: number): void;
}

const ADDON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'build', 'peercred.node');

function load(): PeerCredAddon {
  try {
    return createRequire(import.meta.url)(ADDON) as PeerCredAddon;
  } catch (err) {
    throw new Error(`cannot load ${ADDON} (${(err as Error).message}); run "npm install" (or "make") in ${path.dirname(path.dirname(ADDON))}`);
  }
}

export const addon = load();
