// What each ladder step does, and why a step cannot be taken yet.
import type { RecoveryStep } from '../health/config.js';

/** The machinery a ladder acts through; each promise settles when the step has been carried out. */
export interface RecoveryActions {
  /** Kill the group's current instances (SIGKILL, through their runners) and let the runners start them again. */
  restartProcess(group: string): Promise<void>;
  /** `durun restart GROUP`: every program, finished ones relaunched. */
  restartGroup(group: string): Promise<void>;
  /** The ladder is exhausted: stop the group and mark it failed. */
  failGroup(group: string, reason: string): Promise<void>;
}

const UNAVAILABLE: Partial<Record<RecoveryStep, string>> = {
  restore: 'restore from a checkpoint is not available yet (checkpoints arrive with issue 3)',
  failover: 'failover to another node is not available yet (no cluster membership on this node)',
};

/** Null when the step can be taken, else the reason it is skipped. */
export function unavailable(step: RecoveryStep): string | null {
  return UNAVAILABLE[step] ?? null;
}
