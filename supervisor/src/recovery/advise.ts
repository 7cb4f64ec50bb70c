// `durun advise GROUP`: policy lines proposed from what was observed, check
// latencies (timeouts and intervals), flapping (thresholds), fault history and
// checkpoint cost (checkpoint interval, Young's formula √(2·C·MTBF)). Pure.
import type { CheckConfig } from '../health/config.js';
import type { DurunEvent } from '../protocol/events.js';
import { availability } from '../stats/availability.js';

export interface CheckSamples { cfg: CheckConfig; samples: Array<{ ms: number; healthy: boolean; timedOut: boolean }> }

/** The q-quantile (0..1) of sorted numbers. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? sorted[0]!;
}

/** A duration in the policy's units, rounded up to a readable value. */
export function policyDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(100, Math.ceil(ms / 100) * 100)}ms`;
  if (ms < 120_000) return `${Math.ceil(ms / 1000)}s`;
  if (ms < 7_200_000) return `${Math.ceil(ms / 60_000)}m`;
  return `${Math.ceil(ms / 3_600_000)}h`;
}

/** Longest run of consecutive failures that a pass ended (a flap, not an outage). */
function longestFlap(samples: CheckSamples['samples']): number {
  let run = 0, longest = 0;
  for (const s of samples) {
    if (!s.healthy) run++;
    else { longest = Math.max(longest, run); run = 0; }
  }
  return longest;
}

export function advise(group: string, checks: CheckSamples[], events: DurunEvent[], now: number): { lines: string[]; notes: string[] } {
  const lines: string[] = [`[group ${group}]`];
  const notes: string[] = [];
  for (const { cfg, samples } of checks) {
    const key = `check.${cfg.name}`;
    const ok = samples.filter((s) => !s.timedOut).map((s) => s.ms).sort((a, b) => a - b);
    if (ok.length < 5) {
      notes.push(`${key}: only ${ok.length} completed run(s) observed; let it run longer for advice`);
      continue;
    }
    const p50 = quantile(ok, 0.5), p99 = quantile(ok, 0.99), max = ok.at(-1)!;
    notes.push(`${key}: ${samples.length} runs, latency p50 ${p50} ms, p99 ${p99} ms, max ${max} ms, ${samples.filter((s) => s.timedOut).length} timed out`);
    // Timeout: well above the slowest normal answer, so only a real hang trips it.
    lines.push(`${key}.timeout = ${policyDuration(Math.max(1000, 3 * p99, max * 1.5))}`);
    // Interval: the check should cost under 1% of the time it watches.
    if (cfg.intervalMs !== null) lines.push(`${key}.interval = ${policyDuration(Math.max(cfg.intervalMs, 100 * p50, 1000))}`);
    const flap = longestFlap(samples);
    if (flap >= cfg.threshold) lines.push(`${key}.threshold = ${flap + 1}`);
  }
  const mine = events.filter((e) => e.group === group);
  const stats = availability(mine, mine.length ? Date.parse(mine[0]!.time) : now, now).groups[0];
  const cps = mine.filter((e) => e.type === 'checkpoint' && typeof e.data?.durationMs === 'number');
  if (stats?.mtbfMs) {
    notes.push(`faults: ${stats.outages} outage(s), MTBF ${Math.round(stats.mtbfMs / 1000)} s, MTTR ${stats.mttrMs === null ? 'n/a' : `${Math.round(stats.mttrMs / 1000)} s`}`);
    if (cps.length) {
      const cost = cps.reduce((n, e) => n + (e.data!.durationMs as number), 0) / cps.length;
      lines.push(`checkpoint.interval = ${policyDuration(Math.sqrt(2 * cost * stats.mtbfMs))}`);
      notes.push(`checkpoint interval from Young's formula √(2·C·MTBF) with checkpoint cost C = ${Math.round(cost)} ms`);
    } else {
      notes.push('no checkpoints observed: a checkpoint interval needs their cost (enable checkpointing, then ask again)');
    }
  } else {
    notes.push('no outages observed: nothing to say about checkpoint intervals yet');
  }
  if (lines.length === 1) lines.length = 0;
  return { lines, notes };
}
