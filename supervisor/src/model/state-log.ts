// The model's write-ahead log, $DURUN_HOME/state.log. A change that must not
// wait for the coalesced snapshot (a new program, a removal) is appended as
// one JSON line: O(1) per launch, where rewriting state.json for each one
// made a burst of n launches O(n²). Each line carries a sequence number; the
// snapshot names the last one it includes, so a crash between writing the
// snapshot and emptying the log replays nothing twice. A line is written
// with write(2) before the caller goes on: a supervisor killed the next
// instant (kill -9) loses nothing, since the kernel holds the page. Power
// loss is what the snapshot's fsync covers (registry.ts).
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { GroupRecord, ProgramRecord } from './types.js';

/** What a log entry keeps of a group besides the program: enough to make the group again. */
export type GroupHeader = Pick<GroupRecord, 'name' | 'state' | 'restarts' | 'failedReason' | 'nextProgramId'>;

/** A program joined (or a group with it): the program as it was at once. */
interface ProgramEntry { op: 'program'; group: GroupHeader; program: ProgramRecord }
/** Finished programs left the model (`durun rm`, the retention sweep); an emptied group goes too. */
interface RemoveEntry { op: 'remove'; group: string; programs: number[] }
type NewEntry = ProgramEntry | RemoveEntry;
export type StateLogEntry = NewEntry & { seq: number };

export class StateLog {
  private fd: number | null = null;

  /** seq: the last sequence number handed out (the snapshot's, or the log's last line). */
  constructor(readonly file: string, private seq: number) {}

  get lastSeq(): number {
    return this.seq;
  }

  append(entry: NewEntry): void {
    this.fd ??= openSync(this.file, 'a', 0o600);
    writeSync(this.fd, JSON.stringify({ seq: ++this.seq, ...entry }) + '\n');
  }

  /** Empties the log once a snapshot holds everything in it. */
  clear(): void {
    if (this.fd === null) this.fd = openSync(this.file, 'a', 0o600);
    ftruncateSync(this.fd, 0);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * The log's entries after `afterSeq`, oldest first; [] when there is none. A
 * torn last line (the supervisor killed in the middle of a write) is skipped:
 * what it said, the runner's re-attach and the /proc scan tell again.
 */
export function readStateLog(file: string, afterSeq: number): StateLogEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  const out: StateLogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    let e: StateLogEntry;
    try {
      e = JSON.parse(line) as StateLogEntry;
    } catch {
      continue; // torn last line, see above
    }
    if (typeof e.seq === 'number' && e.seq > afterSeq) out.push(e);
  }
  return out;
}

/** Carries one entry out on the model's groups (the same change the supervisor made before it was logged). */
export function replayEntry(groups: Map<string, GroupRecord>, e: StateLogEntry): void {
  if (e.op === 'program') {
    let g = groups.get(e.group.name);
    if (!g) groups.set(e.group.name, (g = { ...e.group, programs: [], processes: [], history: [] }));
    g.nextProgramId = Math.max(g.nextProgramId, e.group.nextProgramId);
    g.failedReason = e.group.failedReason;
    const i = g.programs.findIndex((p) => p.id === e.program.id);
    if (i >= 0) g.programs[i] = e.program;
    else g.programs.push(e.program);
    return;
  }
  const g = groups.get(e.group);
  if (!g) return;
  const ids = new Set(e.programs);
  g.programs = g.programs.filter((p) => !ids.has(p.id));
  g.processes = g.processes.filter((r) => !ids.has(r.program));
  if (g.programs.length === 0) groups.delete(e.group);
}
