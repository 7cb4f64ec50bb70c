// The append-only event journal, $DURUN_HOME/events.jsonl: one JSON line per
// event, fsync'd before append() returns, so an event the supervisor has
// acted on is on disk even if the supervisor is killed the next instant.
// Bounded: once the file would pass maxBytes it becomes events.1.jsonl (the
// one before is dropped) and a new file starts, so a node that runs for
// years keeps the latest one to two files of history, never a full disk.
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { DurunEvent } from '../protocol/events.js';

export type NewEvent = Omit<DurunEvent, 'seq' | 'time'> & { time?: string };

/** Default size at which the journal is rotated (DURUN_EVENTS_MAX_BYTES overrides). */
export const JOURNAL_MAX_BYTES = 32 << 20;

/** The rotated file next to a journal: events.jsonl -> events.1.jsonl. */
export function rotatedJournal(file: string): string {
  return file.endsWith('.jsonl') ? `${file.slice(0, -'.jsonl'.length)}.1.jsonl` : `${file}.1`;
}

export class Journal {
  private fd: number;
  private seq: number;
  private size: number;
  /** The first event of the current file: the oldest one left once a rotation drops the file before it. */
  private fileFirst: { seq: number; time: string } | null;
  /** Called on rotation with the oldest event the journal still holds (the statistics drop what is older). */
  onRotate: (first: { seq: number; time: string }) => void = () => {};

  constructor(readonly file: string, private readonly maxBytes = JOURNAL_MAX_BYTES) {
    const current = readEvents(file);
    this.fileFirst = current[0] ? { seq: current[0].seq, time: current[0].time } : null;
    const last = current.at(-1) ?? readEvents(rotatedJournal(file)).at(-1);
    this.seq = last?.seq ?? 0;
    this.fd = openSync(file, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  /** Writes one event durably and returns it with its sequence number and time. */
  append(e: NewEvent): DurunEvent {
    const event: DurunEvent = { seq: ++this.seq, time: e.time ?? new Date().toISOString(), type: e.type, group: e.group, pid: e.pid, reason: e.reason, ...(e.data ? { data: e.data } : {}) };
    const line = JSON.stringify(event) + '\n';
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    writeSync(this.fd, line);
    fsyncSync(this.fd);
    this.size += bytes;
    this.fileFirst ??= { seq: event.seq, time: event.time };
    return event;
  }

  /** The full file becomes the rotated one (rename is atomic: readers see one or the other, never half). */
  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.file, rotatedJournal(this.file));
    this.fd = openSync(this.file, 'a', 0o600);
    this.size = 0;
    if (this.fileFirst) this.onRotate(this.fileFirst);
    this.fileFirst = null;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Reads every complete event of a journal and of its rotated file, oldest
 * first; [] when there is none. A torn last line (power loss mid-write) or a
 * foreign line is skipped, not fatal: the journal is history, and losing one
 * line must not lose the rest.
 */
export function readJournal(file: string): DurunEvent[] {
  const current = readEvents(file);
  const first = current[0]?.seq ?? Infinity;
  // A rotation between the two reads would show events twice: keep each seq once.
  return [...readEvents(rotatedJournal(file)).filter((e) => e.seq < first), ...current];
}

function readEvents(file: string): DurunEvent[] {
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
