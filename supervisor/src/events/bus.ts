// The event bus: every event goes to the journal first (durably), then to
// followers (`durun events --follow`, the recovery engine) and to on_event hooks.
// Fault events get their black-box record attached on the way.
import type { DurunEvent } from '../protocol/events.js';
import type { Journal, NewEvent } from './journal.js';
import type { EventSink } from './sink.js';
import { diag } from '../diag.js';

/** How many recent events per group are kept in memory for black-box records. */
const RECENT_KEEP = 50;

export type Follower = (e: DurunEvent) => void;

export class EventBus implements EventSink {
  private readonly followers = new Set<Follower>();
  private readonly recentByGroup = new Map<string, DurunEvent[]>();
  /** Adds data to an event before it is written (the black-box recorder for faults). */
  enrich: (e: NewEvent) => NewEvent = (e) => e;

  constructor(private readonly journal: Journal) {}

  get journalFile(): string {
    return this.journal.file;
  }

  emit(input: NewEvent): DurunEvent | null {
    let event: DurunEvent;
    try {
      event = this.journal.append(this.enrich(input));
    } catch (err) {
      // Losing an event must not take the supervisor (and every program's recovery) down with it.
      diag(`cannot append to ${this.journal.file} (${(err as Error).message}); event lost: ${JSON.stringify(input)}`);
      return null;
    }
    if (event.group !== null) {
      const list = this.recentByGroup.get(event.group) ?? [];
      list.push(event);
      if (list.length > RECENT_KEEP) list.shift();
      this.recentByGroup.set(event.group, list);
    }
    for (const f of this.followers) {
      try {
        f(event);
      } catch (err) {
        diag(`event follower failed on ${event.type} #${event.seq}: ${(err as Error).stack ?? (err as Error).message}`);
      }
    }
    return event;
  }

  /** Calls f with every event from now on; returns the unsubscribe function. */
  follow(f: Follower): () => void {
    this.followers.add(f);
    return () => this.followers.delete(f);
  }

  recent(group: string, n: number): DurunEvent[] {
    return (this.recentByGroup.get(group) ?? []).slice(-n);
  }
}
