// The one duration grammar of durun, for every policy key, environment
// variable and command-line flag (docs/operation.md, "Durations"): a number,
// decimals allowed, and a unit: `500ms`, `1.5s`, `2m`, `1h`, `1d`, `1w` (also
// spelled out, `2 days`, any case). Parsed by the `ms` package (chosen over
// our own regex: it is the grammar most Node tools accept, tiny, no
// dependencies); the C runner's `--backoff` and friends mirror it
// (launcher/c/duration.c) and test/ops-duration runs one table through both.
// A bare number is milliseconds only where that is documented (command-line
// flags); policy files and DURUN_RETENTION ask for a unit, so `stop_timeout = 10`
// is never silently 10 ms.
import ms from 'ms';

/** The suggestion every "not a duration" message ends with. */
export const DURATION_HINT = 'write a number and a unit, e.g. 500ms, 1.5s, 2m, 1h or 1d';

const BARE_NUMBER = /^\s*(?:\d+)?\.?\d+\s*$/;

/** Milliseconds (rounded) of a duration that carries a unit; null for anything else, a bare number or a negative value included. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (t === '' || BARE_NUMBER.test(t)) return null; // ms() throws on an empty string
  const v = ms(t as ms.StringValue) as number | undefined; // undefined when it is not a duration
  if (typeof v !== 'number' || !(v >= 0 && v <= Number.MAX_SAFE_INTEGER)) return null;
  return Math.round(v);
}

/** As parseDuration, and a bare number means milliseconds (command-line flags: `--backoff 500`). */
export function parseFlagDuration(text: string): number | null {
  if (!BARE_NUMBER.test(text)) return parseDuration(text);
  const v = Number(text);
  return v <= Number.MAX_SAFE_INTEGER ? Math.round(v) : null;
}

/** The shortest exact spelling of a duration, for messages and `durun status`. */
export function formatDuration(msValue: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (msValue >= size && msValue % size === 0) return `${msValue / size}${unit}`;
  }
  return `${msValue}ms`;
}
