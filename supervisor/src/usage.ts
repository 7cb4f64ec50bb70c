// CPU and memory of running processes for `ps`, read straight from
// /proc/PID/stat. Replaces the pidusage package, which kept an open fd per
// measured pid for a minute, read each new pid twice, started `getconf`
// twice, and left two buffers of garbage per pid and call behind: in an idle
// supervisor that garbage sat in RSS until the next GC.
//
// Same numbers as before: CPU is the share of one core used since this pid
// was last measured (0 the first time, or when it was last measured over a
// minute ago); memory is the resident set in bytes.
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';

/** USER_HZ: the unit of utime/stime in /proc, fixed at 100 by the Linux ABI. */
const CLK_TCK = 100;
/** A previous sample older than this is forgotten (pidusage's default maxage). */
const MAX_AGE_MS = 60_000;
const AT_PAGESZ = 6;

export interface Usage { cpu: number; rss: number; ppid: number }

interface Sample { cpuMs: number; uptimeMs: number; seenAt: number }
const previous = new Map<number, Sample>();
let pageSize = 0;

/** The kernel's page size from the auxiliary vector (4 KiB on x86, 4–64 KiB on arm64). */
function kernelPageSize(): number {
  try {
    const auxv = readFileSync('/proc/self/auxv');
    const le = endianness() === 'LE';
    for (let i = 0; i + 16 <= auxv.length; i += 16) {
      const type = le ? auxv.readBigUInt64LE(i) : auxv.readBigUInt64BE(i);
      if (type === BigInt(AT_PAGESZ)) return Number(le ? auxv.readBigUInt64LE(i + 8) : auxv.readBigUInt64BE(i + 8));
    }
  } catch {
    // no /proc/self/auxv (unusual kernels): fall through
  }
  return 4096;
}

/** Usage of each pid that could be read; a pid that has just exited is left out. */
export function usage(pids: readonly number[]): Map<number, Usage> {
  const out = new Map<number, Usage>();
  if (pids.length === 0) return out;
  if (!pageSize) pageSize = kernelPageSize();
  const now = Date.now();
  for (const [pid, s] of previous) if (now - s.seenAt > MAX_AGE_MS) previous.delete(pid);
  let uptimeMs: number;
  try {
    uptimeMs = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]) * 1000;
  } catch {
    return out;
  }
  for (const pid of pids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // ended between the listing and the measurement: no numbers for it
    }
    // comm may hold spaces and parentheses: the fields start after the last ')'.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const cpuMs = ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime + stime
    const before = previous.get(pid);
    const elapsed = before ? uptimeMs - before.uptimeMs : 0;
    // A negative difference is a reused pid: treat it as new.
    const cpu = elapsed > 0 ? Math.max(0, ((cpuMs - before!.cpuMs) / elapsed) * 100) : 0;
    previous.set(pid, { cpuMs, uptimeMs, seenAt: now });
    out.set(pid, { cpu: Math.round(cpu * 10) / 10, rss: Number(f[21]) * pageSize, ppid: Number(f[1]) });
  }
  return out;
}
