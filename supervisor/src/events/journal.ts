// The append-only event journal, $DURUN_HOME/events.jsonl: one JSON line per
// event, fsync'd before append() returns, so an event the supervisor has
// acted on is on disk even if the supervisor is killed the next instant.
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { DurunEvent } from '../protocol/events.js';

export type NewEvent = Omit<DurunEvent, 'seq' | 'time'> & { time?: string };

export class Journal {
  private fd: number;
  private seq: number;

  constructor(readonly file: string) {
    const last = readJournal(file).at(-1);
    this.seq = last?.seq ?? 0;
    this.fd = openSync(file, 'a', 0o600);
  }

  /** Writes one event durably and returns it with its sequence number and time. */
  append(e: NewEvent): DurunEvent {
    const event: DurunEvent = { seq: ++this.seq, time: e.time ?? new Date().toISOString(), type: e.type, group: e.group, pid: e.pid, reason: e.reason, ...(e.data ? { data: e.data } : {}) };
    writeSync(this.fd, JSON.stringify(event) + '\n');
    fsyncSync(this.fd);
    return event;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Reads every complete event of a journal, oldest first; [] when there is none.
 * A torn last line (power loss mid-write) or a foreign line is skipped, not fatal:
 * the journal is history, and losing one line must not lose the rest.
 */
export function readJournal(file: string): DurunEvent[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read the event journal ${file}: ${(err as Error).message}`);
  }
  const out: DurunEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as DurunEvent;
      if (typeof e.seq === 'number' && typeof e.type === 'string' && typeof e.time === 'string') out.push(e);
    } catch {
      // torn or foreign line: skipped (see above)
    }
  }
  return out;
}
