// What a checkpoint cannot carry faithfully, found from /proc before any
// process is stopped, so the operator gets a reason instead of an image that
// would restore wrong. fds 0-2 are exempt: the restore gives the program the
// new runner's stdin/stdout/stderr. Unix sockets whose peer is another
// member (a socketpair between parent and child) travel with the image
// (format v2, restored with --tree); every other socket is refused.
import { spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';

/** The interceptor's link lives at or above this fd (preload/durun_env.h DURUN_LINK_FD_MIN). */
const LINK_FD_MIN = 900;

interface Fd { pid: number; fd: number; target: string }

function fdsOf(pid: number): Fd[] {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return []; // gone: the barrier notices
  }
  const out: Fd[] = [];
  for (const n of names) {
    try {
      out.push({ pid, fd: Number(n), target: readlinkSync(`/proc/${pid}/fd/${n}`) });
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/**
 * Peer inode of every connected Unix socket on the machine, from `ss -xaH`
 * (sock_diag; Node has no binding for it); null when ss is not installed.
 */
function unixPeers(): Map<number, number> | null {
  const res = spawnSync('ss', ['-xaH'], { encoding: 'utf8' });
  if (res.status !== 0) return null;
  const peers = new Map<number, number>();
  for (const line of res.stdout.split('\n')) {
    // ... LOCAL-ADDRESS LOCAL-INODE PEER-ADDRESS PEER-INODE; an address may hold spaces, so read from the end.
    const t = line.trim().split(/\s+/);
    if (t.length < 4) continue;
    const local = Number(t[t.length - 3]);
    const peer = Number(t[t.length - 1]);
    if (local > 0 && peer > 0) peers.set(local, peer);
  }
  return peers;
}

const inodeOf = (target: string) => Number(target.slice(target.indexOf('[') + 1, -1));

/** Why the processes cannot be checkpointed faithfully, or null. */
export function uncapturable(pids: number[], exeOf: (pid: number) => string): string | null {
  const all = pids.flatMap(fdsOf);
  const pipeUse = new Map<string, number>(); // how many fds of the group hold each pipe
  for (const f of all) if (f.target.startsWith('pipe:')) pipeUse.set(f.target, (pipeUse.get(f.target) ?? 0) + 1);
  const memberSockets = new Set(all.filter((f) => f.target.startsWith('socket:') && f.fd < LINK_FD_MIN).map((f) => inodeOf(f.target)));
  let peers: Map<number, number> | undefined;
  for (const f of all) {
    if (f.fd <= 2) continue;
    const who = `process ${f.pid} (${exeOf(f.pid)}) fd ${f.fd}`;
    if (f.target.startsWith('socket:')) {
      if (f.fd >= LINK_FD_MIN) continue; // the interceptor's own link, left out of the image
      peers ??= unixPeers() ?? new Map();
      const peer = peers.get(inodeOf(f.target));
      if (peer !== undefined && memberSockets.has(peer)) continue;
      return `${who} is a socket (${f.target}) whose other end is outside the group (a TCP connection, or a Unix socket to another program); only socketpairs between processes of the group can be checkpointed`;
    }
    // A pipe whose other end is outside the group (an fd inherited from the
    // shell, a make jobserver) is let through: it restores as a new empty
    // pipe, and refusing every stray inherited fd would refuse most programs.
    if (f.target.startsWith('pipe:') && pipeUse.get(f.target) === 1) continue;
    if (f.target === 'anon_inode:[userfaultfd]') continue; // the engine's own dirty-page tracking
    if (f.target.startsWith('anon_inode:')) return `${who} is ${f.target}, which a checkpoint cannot carry`;
    if (f.target.startsWith('/dev/') && f.target !== '/dev/null' && !/^\/dev\/(pts\/\d+|tty\d*)$/.test(f.target)) {
      return `${who} is the device ${f.target}, which a checkpoint cannot carry`;
    }
  }
  return null;
}
