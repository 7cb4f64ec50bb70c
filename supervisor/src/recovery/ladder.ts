// The recovery escalation ladder of one group, as a state machine in the s6
// style: TABLE[state][input] is the action, and the compiler checks that no
// (state, input) pair is forgotten. Pure: time comes in as an argument.
import type { RecoveryConfig, RecoveryStep } from '../health/config.js';

export type LadderState =
  | 'idle'      // no fault being handled; the next fault takes the first step
  | 'acting'    // a step is under way (the group is restarting)
  | 'watching'  // the step is done; a fault within the window means it did not hold
  | 'failed';   // every step was tried: the group is failed until the operator restarts it

export type LadderInput =
  | 'fault'      // a primary fault of this group
  | 'secondary'  // a fault explained by something else (dependency, stale, in progress): see correlator.ts
  | 'step-done'  // the group runs again after a step
  | 'held'       // the window passed with no fault after a step
  | 'reset';     // the operator restarted or stopped the group

export type LadderAction = 'escalate' | 'correlate' | 'settle' | 'recover' | 'reset' | 'ignore';

export const TABLE: Record<LadderState, Record<LadderInput, LadderAction>> = {
  idle:     { fault: 'escalate',  secondary: 'correlate', 'step-done': 'ignore', held: 'ignore',  reset: 'ignore' },
  acting:   { fault: 'correlate', secondary: 'correlate', 'step-done': 'settle', held: 'ignore',  reset: 'reset' },
  watching: { fault: 'escalate',  secondary: 'correlate', 'step-done': 'ignore', held: 'recover', reset: 'reset' },
  failed:   { fault: 'correlate', secondary: 'correlate', 'step-done': 'ignore', held: 'ignore',  reset: 'reset' },
};

export interface Ladder {
  state: LadderState;
  /** Index of the current step in config.steps; -1 before the first. */
  step: number;
  /** When each attempt of the current step was taken (ms). */
  attempts: number[];
  /** When the last step was taken (ms); reports observed before it are stale. */
  lastActionAt: number | null;
}

export const newLadder = (): Ladder => ({ state: 'idle', step: -1, attempts: [], lastActionAt: null });

/** Why a step cannot be taken, or null when it can. */
export type Availability = (step: RecoveryStep) => string | null;

export interface Escalation {
  /** The step to take now, or null when the ladder is exhausted. */
  take: { step: RecoveryStep; attempt: number } | null;
  skipped: Array<{ step: RecoveryStep; reason: string }>;
  ladder: Ladder;
}

/**
 * The next step after a fault: the current step again while it has attempts
 * left within the window, else the next available one up the ladder.
 * `minStep` forces a climb past steps already known to have failed.
 */
export function escalate(ladder: Ladder, cfg: RecoveryConfig, now: number, available: Availability, minStep = 0): Escalation {
  let step = ladder.step < 0 ? 0 : ladder.step;
  let attempts = ladder.attempts.filter((t) => now - t < cfg.windowMs);
  if (ladder.step >= 0 && attempts.length >= cfg.attempts) {
    step++;
    attempts = [];
  }
  if (step < minStep) {
    step = minStep;
    attempts = [];
  }
  const skipped: Escalation['skipped'] = [];
  while (step < cfg.steps.length) {
    const why = available(cfg.steps[step]!);
    if (why === null) break;
    skipped.push({ step: cfg.steps[step]!, reason: why });
    step++;
    attempts = [];
  }
  if (step >= cfg.steps.length) {
    return { take: null, skipped, ladder: { state: 'failed', step, attempts: [], lastActionAt: now } };
  }
  attempts.push(now);
  return {
    take: { step: cfg.steps[step]!, attempt: attempts.length },
    skipped,
    ladder: { state: 'acting', step, attempts, lastActionAt: now },
  };
}
