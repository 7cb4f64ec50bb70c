// Issue 5: cron schedules (five fields, or six with seconds), pure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CronError, nextFire, parseCron } from '../supervisor/src/health/cron.js';

const at = (s: string) => new Date(s).getTime();
const fmt = (ms: number | null) => (ms === null ? null : new Date(ms).toString().slice(0, 24));

test('five fields fire at second 0', () => {
  const s = parseCron('*/15 * * * *');
  assert.is(fmt(nextFire(s, at('2024-03-05T10:07:30'))), fmt(at('2024-03-05T10:15:00')));
});

test('a seconds field fires within the minute', () => {
  const s = parseCron('*/10 * * * * *');
  assert.is(fmt(nextFire(s, at('2024-03-05T10:07:31'))), fmt(at('2024-03-05T10:07:40')));
  assert.is(fmt(nextFire(s, at('2024-03-05T10:07:50'))), fmt(at('2024-03-05T10:08:00')));
});

test('ranges, lists, names and steps', () => {
  const s = parseCron('30 9-17/4 * jan,mar mon-fri');
  // 2024-03-02 is a Saturday: next is Monday 4 March 09:30
  assert.is(fmt(nextFire(s, at('2024-03-02T12:00:00'))), fmt(at('2024-03-04T09:30:00')));
  assert.is(fmt(nextFire(s, at('2024-03-04T09:30:00'))), fmt(at('2024-03-04T13:30:00')));
});

test('both day fields restricted: either matches (vixie-cron)', () => {
  const s = parseCron('0 0 13 * 5'); // the 13th, and every Friday
  assert.is(fmt(nextFire(s, at('2024-09-01T00:00:00'))), fmt(at('2024-09-06T00:00:00'))); // Friday 6th
  assert.is(fmt(nextFire(s, at('2024-09-10T00:00:00'))), fmt(at('2024-09-13T00:00:00')));
});

test('7 is Sunday and macros work', () => {
  assert.ok(parseCron('0 0 * * 7').weekdays.has(0));
  assert.is(fmt(nextFire(parseCron('@hourly'), at('2024-01-01T05:10:00'))), fmt(at('2024-01-01T06:00:00')));
  assert.is(fmt(nextFire(parseCron('0 0 29 2 *'), at('2025-01-01T00:00:00'))), fmt(at('2028-02-29T00:00:00')));
});

test('errors name the field', () => {
  assert.throws(() => parseCron('61 * * * *'), (e: Error) => e instanceof CronError && e.message === 'minute: 61 is outside 0-59');
  assert.throws(() => parseCron('* * * *'), /has 4 fields; use 5/);
  assert.throws(() => parseCron('* * * foo *'), /month: "foo" is not a number or a name like jan/);
  assert.throws(() => parseCron('*/0 * * * *'), /step "0" must be/);
  assert.throws(() => parseCron('5-1 * * * *'), /range 5-1 runs backwards/);
});

test.run();
