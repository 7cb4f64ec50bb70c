// The events the statistics are computed from (availability.ts: state
// changes, check results, faults; the metrics' restart counts), kept in
// memory in a compact form, so `durun stats` and a metrics scrape no longer
// re-read and parse the whole journal (up to 2 × 32 MiB) each time: loaded
// once at start-up, appended from the bus, and trimmed as the journal
// rotates, so they always cover what the journal holds.
import type { DurunEvent } from '../protocol/events.js';

const KEPT: ReadonlySet<string> = new Set(['state', 'health', 'fault', 'restart']);

/** Only what availability() and the metrics read of an event. */
function compact(e: DurunEvent): DurunEvent {
  const d = e.data ?? {};
  const data = e.type === 'state' ? { to: d.to } : e.type === 'health' ? { check: d.check, healthy: d.healthy } : e.type === 'fault' ? { kind: d.kind } : undefined;
  return { seq: e.seq, time: e.time, type: e.type, group: e.group, pid: null, reason: e.type === 'fault' ? e.reason : '', ...(data ? { data } : {}) };
}

export class StatsHistory {
  private events: DurunEvent[] = [];
  /** Time of the journal's first event (of any kind): where "the whole history" begins. */
  private first: string | null = null;

  /** journal: every event of the journal, oldest first (readJournal at start-up). */
  constructor(journal: DurunEvent[]) {
    for (const e of journal) this.add(e);
  }

  add(e: DurunEvent): void {
    this.first ??= e.time;
    if (e.group !== null && KEPT.has(e.type)) this.events.push(compact(e));
  }

  /** The journal dropped its oldest file: it now begins with `first`, and so does this history. */
  dropBefore(first: { seq: number; time: string }): void {
    const keep = this.events.findIndex((e) => e.seq >= first.seq);
    this.events = keep < 0 ? [] : this.events.slice(keep);
    this.first = first.time;
  }

  all(): readonly DurunEvent[] {
    return this.events;
  }

  /** When the history begins (ms), or null when the journal is empty. */
  firstTime(): number | null {
    return this.first === null ? null : Date.parse(this.first);
  }
}
