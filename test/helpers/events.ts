// Reading a test home's event journal through `durun events --json`, and
// waiting for an event with a deadline.
import type { DurunEvent } from '../../supervisor/src/protocol/events.js';
import { durunSync } from './durun.js';
import { waitFor } from './wait.js';

export function events(env: NodeJS.ProcessEnv, filter: string[] = []): DurunEvent[] {
  const r = durunSync(env, ['events', '--json', ...filter]);
  if (r.code !== 0) throw new Error(`durun events failed (${r.code}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { events: DurunEvent[] }).events;
}

/** Waits until an event of the group satisfies match; returns it. */
export function waitEvent(env: NodeJS.ProcessEnv, group: string, what: string, match: (e: DurunEvent) => boolean, timeoutMs = 15_000): Promise<DurunEvent> {
  return waitFor(`${group}: ${what}`, () => events(env, ['--group', group]).find(match), timeoutMs, 100);
}
