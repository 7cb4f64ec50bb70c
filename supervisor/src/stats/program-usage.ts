// CPU time and resident memory of each program, for the metrics. CPU is a
// counter that must never go down, yet a program's processes come and go:
// the last CPU time read of each process is kept, and when the process is
// gone its share moves to the program's "ended" total. CPU a process used
// after the last scrape before it ended is not counted (the kernel keeps no
// trace of it); the counter starts over when the supervisor does.
import type { Registry } from '../model/registry.js';
import { PAGE_BYTES, TICKS_PER_SECOND, readStat } from '../procfs.js';

export interface ProgramUsage { group: string; program: number; cpuSeconds: number; rssBytes: number; processes: number }

export class UsageCounters {
  /** Last ticks read per live pid, with the program it belongs to. */
  private readonly seen = new Map<number, { key: string; ticks: number }>();
  /** Ticks of processes that are gone, per program. */
  private readonly ended = new Map<string, number>();

  /** Reads every live process of every group; one entry per program. */
  sample(registry: Registry): ProgramUsage[] {
    const out = new Map<string, ProgramUsage>();
    const alive = new Set<number>();
    for (const g of registry.groups.values()) {
      for (const p of g.programs) out.set(`${g.name}\u0000${p.id}`, { group: g.name, program: p.id, cpuSeconds: 0, rssBytes: 0, processes: 0 });
      for (const rec of registry.liveProcessesOf(g)) {
        const key = `${g.name}\u0000${rec.program}`;
        const u = readStat(rec.pid);
        const entry = out.get(key);
        if (!u || !entry) continue;
        alive.add(rec.pid);
        const before = this.seen.get(rec.pid);
        // A pid seen before under another program, or with less CPU time than before, is a new process
        // (pid reuse): the old one's ticks stay with its program.
        if (before && (before.key !== key || u.cpuTicks < before.ticks)) this.ended.set(before.key, (this.ended.get(before.key) ?? 0) + before.ticks);
        this.seen.set(rec.pid, { key, ticks: u.cpuTicks });
        entry.rssBytes += u.rssPages * PAGE_BYTES;
        entry.processes++;
      }
    }
    for (const [pid, s] of this.seen) {
      if (alive.has(pid)) continue;
      this.ended.set(s.key, (this.ended.get(s.key) ?? 0) + s.ticks);
      this.seen.delete(pid);
    }
    for (const [key, entry] of out) entry.cpuSeconds = (this.ended.get(key) ?? 0) / TICKS_PER_SECOND;
    for (const s of this.seen.values()) {
      const entry = out.get(s.key);
      if (entry) entry.cpuSeconds += s.ticks / TICKS_PER_SECOND;
    }
    return [...out.values()];
  }
}
