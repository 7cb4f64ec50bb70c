// The restart decision at the end of an instance: pure functions of the
// program record and how the instance ended, so they are tested without processes.
import type { ProgramRecord, RestartOptions } from './model/types.js';
import { shellCode } from './signals.js';

export const DEFAULT_RESTART_OPTIONS: RestartOptions = {
  backoffMs: 100,
  backoffMaxMs: 30_000,
  maxRestarts: 5,
  restartWindowMs: 60_000,
};

/**
 * Backoff resets once an instance has run this long without ending, or as
 * long as the longest backoff if that is shorter: an instance that outlived
 * the longest delay was no tight crash loop.
 */
export const STABLE_RUN_MS = 10_000;

export interface InstanceEnd { status: number | null; signal: number | null; at: number }

export type Decision =
  | { action: 'restart'; delayMs: number }
  | { action: 'finish'; code: number; failed: string | null };

/**
 * Decides what follows the end of a program's current instance that nobody
 * asked for (lifecycle/table.ts sends asked-for stops and restarts elsewhere).
 * crashed: a process of it died by a crash signal or a broken link, or its
 * root by a signal other than SIGHUP, SIGINT, SIGTERM, SIGPIPE (those are
 * clean ends, restarted only under `always`, as systemd does).
 */
export function decide(program: ProgramRecord, end: InstanceEnd, crashed: boolean): Decision {
  const code = shellCode(end.status, end.signal);
  const wanted =
    program.restart === 'always' ? true
    : program.restart === 'never' ? false
    : program.restart === 'on-failure' ? crashed || (end.signal === null && code !== 0)
    : crashed;
  if (!wanted) return { action: 'finish', code, failed: null };

  const { maxRestarts, restartWindowMs } = program.options;
  const recent = program.restartTimes.filter((t) => end.at - t < restartWindowMs);
  if (recent.length >= maxRestarts) {
    const why = `${recent.length + 1} ends within ${Math.round(restartWindowMs / 1000)} s (limit ${maxRestarts} restarts); last ${describeEnd(end)}`;
    return { action: 'finish', code, failed: why };
  }
  const stableAfter = Math.min(STABLE_RUN_MS, program.options.backoffMaxMs);
  const ranStable = program.instanceStartedAt !== null && end.at - program.instanceStartedAt >= stableAfter;
  const n = ranStable ? 0 : program.consecutiveRestarts;
  return { action: 'restart', delayMs: backoffDelay(n, program.options) };
}

/** 0 for the first restart, then base·2^(n-1) capped. */
export function backoffDelay(n: number, opts: RestartOptions): number {
  if (n <= 0) return 0;
  return Math.min(opts.backoffMaxMs, opts.backoffMs * 2 ** (n - 1));
}

export function describeEnd(end: { status: number | null; signal: number | null }): string {
  return end.signal ? `killed by signal ${end.signal}` : `exit status ${end.status ?? 0}`;
}
