// A saved value and the rule that orders saves of one key: a later logical
// timestamp wins, an equal or older one is ignored.
export interface StateRecord { ts: number; data: Buffer }

/** Whether a save with timestamp ts replaces what is held (held: the newest record of the key anywhere, or undefined). */
export function newer(ts: number, held: StateRecord | undefined): boolean {
  return held === undefined || ts > held.ts;
}
