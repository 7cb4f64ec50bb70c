// What a checkpoint cannot carry faithfully, found from /proc before any
// process is stopped, so the operator gets a reason instead of an image that
// would restore wrong. fds 0-2 are exempt: the restore gives the program the
// new runner's stdin/stdout/stderr. Pipes, sockets, epoll, eventfd, timerfd,
// signalfd, inotify and memfds travel with the image (ARCHITECTURE.md,
// "On-disk image format"); an inotify watch whose path the interceptor did
// not see added, and whose file handle the process may not open, is refused
// by the dump itself, naming the wd.
import { readdirSync, readlinkSync } from 'node:fs';

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

/** anon_inode objects the engine rebuilds (native/src/dump-kobj.c), and its own dirty-page tracking. */
const REBUILT = new Set(['anon_inode:[eventpoll]', 'anon_inode:[eventfd]', 'anon_inode:[timerfd]', 'anon_inode:[signalfd]', 'anon_inode:inotify', 'anon_inode:[userfaultfd]']);

/** Why the processes cannot be checkpointed faithfully, or null. */
export function uncapturable(pids: number[], exeOf: (pid: number) => string): string | null {
  for (const f of pids.flatMap(fdsOf)) {
    if (f.fd <= 2) continue;
    const who = `process ${f.pid} (${exeOf(f.pid)}) fd ${f.fd}`;
    // Sockets are rebuilt (listening, bound, unconnected; a socketpair between members paired again);
    // a connection whose TCP state is not carried comes back closed, as after a network failure.
    if (f.target.startsWith('socket:') || f.target.startsWith('pipe:') || REBUILT.has(f.target)) continue;
    if (f.target.startsWith('anon_inode:')) return `${who} is ${f.target}, which a checkpoint cannot carry`;
    if (f.target.startsWith('/dev/') && f.target !== '/dev/null' && !/^\/dev\/(pts\/\d+|tty\d*)$/.test(f.target)) {
      return `${who} is the device ${f.target}, which a checkpoint cannot carry`;
    }
  }
  return null;
}
