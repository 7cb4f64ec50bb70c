// The one interface transitions use to report what happened (process ends,
// restart decisions, group state changes): they never know who listens.
import type { NewEvent } from './journal.js';

export interface EventSink { emit(e: NewEvent): void }

/** Used until the supervisor wires the journal (and in code paths with no supervisor). */
export const NO_EVENTS: EventSink = { emit: () => {} };
