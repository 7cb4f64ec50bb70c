// Re-launching a multi-program group the way it first came up: programs in
// the order their first process appeared in the launch history, with the same
// spacing between them (programs that joined later may rely on the earlier
// ones having run for a while). Pure: history in, plan out.
import type { LaunchEntry, ProgramRecord } from '../model/types.js';

/** Spacing longer than this is not waited for again on recovery. */
export const MAX_SPACING_MS = 60_000;

export interface PlanStep { program: ProgramRecord; delayMs: number }

/** Programs in first-launch order, each with the delay after the previous one. */
export function relaunchPlan(programs: readonly ProgramRecord[], history: readonly LaunchEntry[]): PlanStep[] {
  const first = new Map<number, number>();
  for (const h of history) if (!first.has(h.program) || h.at < first.get(h.program)!) first.set(h.program, h.at);
  const known = programs.filter((p) => first.has(p.id)).sort((a, b) => first.get(a.id)! - first.get(b.id)!);
  const unknown = programs.filter((p) => !first.has(p.id));
  return [
    ...known.map((p, i) => ({ program: p, delayMs: i === 0 ? 0 : Math.min(MAX_SPACING_MS, first.get(p.id)! - first.get(known[i - 1]!.id)!) })),
    ...unknown.map((p) => ({ program: p, delayMs: 0 })),
  ];
}

/** Waits until delayMs after `since` (ms since epoch; 0 = no wait). */
export function pace(since: number, delayMs: number): Promise<void> {
  const wait = since === 0 ? 0 : since + delayMs - Date.now();
  return wait > 0 ? new Promise((r) => setTimeout(r, wait)) : Promise.resolve();
}
