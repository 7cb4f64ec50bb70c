// How long finished foreground programs stay in the model before the sweep
// (remove.ts) drops them: DURUN_RETENTION in the supervisor's environment, a
// duration (default 1h), or "never".
import type { Registry } from '../model/registry.js';
import { DURATION_HINT, parseDuration } from '../protocol/duration.js';
import { diag } from '../diag.js';
import { sweepFinished } from './remove.js';

export const DEFAULT_RETENTION_MS = 3_600_000;
/** The sweep runs at least this often, so a short retention is honoured closely. */
const SWEEP_MAX_MS = 60_000;

/** Retention in ms from DURUN_RETENTION; null = never sweep. A bad value is reported and the default kept. */
export function retentionOf(env: NodeJS.ProcessEnv): number | null {
  const text = env.DURUN_RETENTION;
  if (text === undefined || text === '') return DEFAULT_RETENTION_MS;
  if (text === 'never') return null;
  const ms = parseDuration(text);
  if (ms === null) {
    diag(`DURUN_RETENTION="${text}" is not a duration or "never" (${DURATION_HINT}); keeping finished programs for the default 1h`);
    return DEFAULT_RETENTION_MS;
  }
  return ms;
}

/** Starts the periodic sweep; returns its timer (cleared at shutdown), or undefined when retention is "never". */
export function startRetention(registry: Registry, env: NodeJS.ProcessEnv, isPolicyGroup: (name: string) => boolean, afterSweep: () => void): NodeJS.Timeout | undefined {
  const retention = retentionOf(env);
  if (retention === null) return undefined;
  const every = Math.max(250, Math.min(SWEEP_MAX_MS, retention / 2));
  const timer = setInterval(() => {
    const gone = sweepFinished(registry, Date.now(), retention, isPolicyGroup);
    if (gone.length) diag(`retention: removed finished group(s) ${gone.join(', ')}`);
    afterSweep();
  }, every);
  timer.unref();
  return timer;
}
