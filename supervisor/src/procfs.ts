// Reading /proc: liveness, parents, start times (to spot pid reuse), zombie
// exit codes, and descendants of a runner for processes that cannot load the
// interceptor (static or setuid binaries).
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, readlinkSync } from 'node:fs';

/** session: its session id; cpuTicks: utime + stime in USER_HZ ticks; rssPages: resident pages. */
export interface ProcStat { pid: number; ppid: number; session: number; state: string; startTime: number; exitCode: number | null; threads: number; cpuTicks: number; rssPages: number }

/** USER_HZ, the unit of times in /proc/PID/stat (100 on every Linux build durun runs on), and the page size of rss there. */
export const TICKS_PER_SECOND = 100;
export const PAGE_BYTES = 4096;

const procBuf = Buffer.allocUnsafe(4096);

/**
 * Text of a /proc file, read into one reused buffer. The kernel builds the
 * text anew on every read(), and readFileSync reads once more to see the end:
 * for /proc/PID/stat, whose whole text (under 1 KiB) comes in the first read,
 * `untilEof = false` skips that second build (with the reused buffer, a
 * third less CPU for the 5 s scan of 200 processes). Lists (children) are
 * read until read() returns 0.
 */
export function readProcText(file: string, untilEof: boolean): string {
  const fd = openSync(file, 'r');
  try {
    let n = readSync(fd, procBuf, 0, procBuf.length, null);
    if (!untilEof && n < procBuf.length) return procBuf.toString('latin1', 0, n);
    const parts: Buffer[] = [];
    while (n > 0) {
      parts.push(Buffer.from(procBuf.subarray(0, n)));
      n = readSync(fd, procBuf, 0, procBuf.length, null);
    }
    return Buffer.concat(parts).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

/** Parses /proc/PID/stat; null when the process is gone. */
export function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readProcText(`/proc/${pid}/stat`, false);
  } catch {
    return null; // ENOENT/ESRCH: gone
  }
  // comm may contain spaces and parentheses: fields start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(rest[n - 3]);
  const exit = rest.length >= 50 ? field(52) : NaN;
  return {
    pid, state: rest[0]!, ppid: field(4), session: field(6), startTime: field(22), exitCode: Number.isNaN(exit) ? null : exit, threads: field(20),
    cpuTicks: field(14) + field(15), rssPages: field(24),
  };
}

/** Seconds since boot, the clock of /proc/PID/stat start times. */
export function uptimeSeconds(): number {
  return Number(readProcText('/proc/uptime', false).split(' ')[0]);
}

export function isRunning(pid: number): boolean {
  const st = readStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

export function readExe(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null; // gone, or a kernel thread
  }
}

/** The process's real uid, null when gone. */
export function readUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The process's name (comm), '' when gone. */
export function readComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd();
  } catch {
    return '';
  }
}

export function readCmdline(pid: number): string[] {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s, i, a) => i < a.length - 1 || s !== '');
  } catch {
    return [];
  }
}

export function readCwd(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
}

/** True when libdurun.so is mapped in the process (so it understands the call-home signal). */
export function hasInterceptor(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libdurun.so');
  } catch {
    return false;
  }
}

export function listPids(): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
}

/** "12 34 " → [12, 34] */
function parseChildren(text: string): number[] {
  const out: number[] = [];
  for (const c of text.split(' ')) if (c.trim()) out.push(Number(c));
  return out;
}

/** Child pids of pid from /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN); null when the kernel lacks it. */
function childrenOf(pid: number, threads = 0): number[] | null {
  // One thread (most processes): its only task is PID, so skip listing the task directory.
  if (threads === 1) {
    try {
      return parseChildren(readProcText(`/proc/${pid}/task/${pid}/children`, true));
    } catch {
      // gone, or no CONFIG_PROC_CHILDREN: the full path below tells which
    }
  }
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // gone
  }
  const out: number[] = [];
  for (const tid of tids) {
    try {
      for (const c of parseChildren(readProcText(`/proc/${pid}/task/${tid}/children`, true))) out.push(c);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid) && !existsSync(`/proc/${pid}/task/${tid}/children`)) return null;
    }
  }
  return out;
}

/** The child of parent (outer pid) that sees itself as inner in its pid namespace (last NSpid field), or null. */
export function childByInnerPid(parent: number, inner: number): number | null {
  for (const pid of childrenOf(parent) ?? []) {
    try {
      const ns = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim().split(/\s+/);
      if (ns && Number(ns[ns.length - 1]) === inner) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/**
 * All live descendants of root (root excluded), each with its stat. Walks the
 * kernel's children lists, so the cost follows the size of the tree, not of
 * the whole machine; falls back to reading every /proc/PID/stat. A process
 * for which leaveOut holds is left out with its own descendants.
 */
export function descendants(root: number, leaveOut: (st: ProcStat) => boolean = () => false): ProcStat[] {
  const out: ProcStat[] = [];
  const queue: Array<[pid: number, threads: number]> = [[root, 0]];
  while (queue.length) {
    const [pid, threads] = queue.shift()!;
    const kids = childrenOf(pid, threads);
    if (kids === null) return descendantsByFullScan(root, leaveOut);
    for (const kid of kids) {
      // A runner that lost its supervisor starts the next one as its own
      // child: this supervisor and what it runs (checks, hooks) are never the program's.
      if (kid === process.pid) continue;
      const st = readStat(kid);
      if (!st || leaveOut(st)) continue;
      out.push(st);
      queue.push([kid, st.threads]);
    }
  }
  return out;
}

function descendantsByFullScan(root: number, leaveOut: (st: ProcStat) => boolean): ProcStat[] {
  const stats = listPids().map(readStat).filter((s): s is ProcStat => s !== null);
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const out: ProcStat[] = [];
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (child.pid === process.pid || leaveOut(child)) continue; // as in descendants()
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Decodes a raw wait status (as in /proc/PID/stat exit_code). */
export function decodeWaitStatus(raw: number): { status: number | null; signal: number | null } {
  const sig = raw & 0x7f;
  return sig ? { status: null, signal: sig } : { status: (raw >> 8) & 0xff, signal: null };
}
