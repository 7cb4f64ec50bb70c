// Cron schedules for heavy health checks: the standard five fields
// (minute hour day-of-month month day-of-week) or six with a leading seconds
// field, in local time, with vixie-cron semantics: when both day fields are
// restricted, a day matching either one fires.
//
// Written here rather than taken from npm (cron-parser, croner): those add
// L/W/#, time zones and job runners we do not need, while policy validation
// wants our own one-line errors naming the field; the whole grammar is below.

export interface CronSchedule {
  source: string;
  seconds: Set<number>; minutes: Set<number>; hours: Set<number>;
  days: Set<number>; months: Set<number>; weekdays: Set<number>;
  /** Whether the day-of-month / day-of-week field was '*' (vixie-cron OR rule). */
  anyDay: boolean; anyWeekday: boolean;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec { name: string; min: number; max: number; names?: string[]; namesFrom?: number }
const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DAY: FieldSpec = { name: 'day of month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 };
const WEEKDAY: FieldSpec = { name: 'day of week', min: 0, max: 7, names: WEEKDAYS, namesFrom: 0 };

export class CronError extends Error {}

function value(text: string, spec: FieldSpec): number {
  const named = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + spec.namesFrom!;
  if (!/^\d+$/.test(text)) throw new CronError(`${spec.name}: "${text}" is not a number${spec.names ? ' or a name like ' + spec.names[0] : ''}`);
  const n = Number(text);
  if (n < spec.min || n > spec.max) throw new CronError(`${spec.name}: ${n} is outside ${spec.min}-${spec.max}`);
  return n;
}

function field(text: string, spec: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === '') throw new CronError(`${spec.name}: cannot read "${part}"`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new CronError(`${spec.name}: step "${stepText}" must be a whole number of at least 1`);
    let lo: number, hi: number;
    if (range === '*') [lo, hi] = [spec.min, spec.max];
    else if (range!.includes('-')) {
      const [a, b] = range!.split('-');
      [lo, hi] = [value(a!, spec), value(b!, spec)];
      if (lo > hi) throw new CronError(`${spec.name}: range ${range} runs backwards`);
    } else {
      lo = value(range!, spec);
      hi = stepText === undefined ? lo : spec.max; // "5/15" means from 5 every 15
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  if (spec === WEEKDAY && out.delete(7)) out.add(0); // 7 is Sunday too
  return out;
}

/** Parses a cron expression; throws CronError saying which field is wrong. */
export function parseCron(source: string): CronSchedule {
  const text = MACROS[source.trim().toLowerCase()] ?? source.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    throw new CronError(`"${source}" has ${parts.length} fields; use 5 (minute hour day month weekday) or 6 (second first)`);
  }
  const [sec, min, hour, day, month, weekday] = parts.length === 6 ? parts : ['0', ...parts];
  return {
    source,
    seconds: field(sec!, SECOND), minutes: field(min!, MINUTE), hours: field(hour!, HOUR),
    days: field(day!, DAY), months: field(month!, MONTH), weekdays: field(weekday!, WEEKDAY),
    anyDay: day!.startsWith('*'), anyWeekday: weekday!.startsWith('*'), // as vixie-cron: a field starting with '*' is unrestricted
  };
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const dom = s.days.has(d.getDate());
  const dow = s.weekdays.has(d.getDay());
  if (s.anyDay && s.anyWeekday) return true;
  if (s.anyDay) return dow;
  if (s.anyWeekday) return dom;
  return dom || dow;
}

/** The first time strictly after `after` (ms) at which the schedule fires; null if none within 5 years. */
export function nextFire(s: CronSchedule, after: number): number | null {
  const d = new Date(after);
  d.setMilliseconds(0);
  d.setSeconds(d.getSeconds() + 1);
  const limit = after + 5 * 366 * 86_400_000;
  while (d.getTime() <= limit) {
    if (!s.months.has(d.getMonth() + 1)) { d.setMonth(d.getMonth() + 1, 1); d.setHours(0, 0, 0); continue; }
    if (!dayMatches(s, d)) { d.setDate(d.getDate() + 1); d.setHours(0, 0, 0); continue; }
    if (!s.hours.has(d.getHours())) { d.setHours(d.getHours() + 1, 0, 0); continue; }
    if (!s.minutes.has(d.getMinutes())) { d.setMinutes(d.getMinutes() + 1, 0); continue; }
    if (!s.seconds.has(d.getSeconds())) { d.setSeconds(d.getSeconds() + 1); continue; }
    return d.getTime();
  }
  return null;
}
