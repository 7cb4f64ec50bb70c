// Reading /proc: liveness, parents, start times (to spot pid reuse), zombie
// exit codes, and descendants of a runner for processes that cannot load the
// interceptor (static or setuid binaries).
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ProcStat { pid: number; ppid: number; state: string; startTime: number; exitCode: number | null }

/** Parses /proc/PID/stat; null when the process is gone. */
export function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // ENOENT/ESRCH: gone
  }
  // comm may contain spaces and parentheses: fields start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(rest[n - 3]);
  const exit = rest.length >= 50 ? field(52) : NaN;
  return { pid, state: rest[0]!, ppid: field(4), startTime: field(22), exitCode: Number.isNaN(exit) ? null : exit };
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

/** All live descendants of root (root excluded), each with its stat. */
export function descendants(root: number): ProcStat[] {
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
