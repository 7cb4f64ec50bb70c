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
  /** Restore the group from its latest valid checkpoint (issue 3); absent when checkpoints are not wired. */
  restore?(group: string): Promise<void>;
  /** Hand the group to a backup node, which restores it from its replicated checkpoint (cluster mode); absent on a single node. */
  failover?(group: string): Promise<void>;
  /** Why a step cannot be taken for this group right now (beyond unavailable()), or null. */
  whyNot?(step: RecoveryStep, group: string): string | null;
}

const UNAVAILABLE: Partial<Record<RecoveryStep, string>> = {
  restore: 'restore from a checkpoint is not enabled in this supervisor',
  failover: 'failover to another node is not available yet (no cluster membership on this node)',
};

/** Null when the step can be taken, else the reason it is skipped. */
export function unavailable(step: RecoveryStep): string | null {
  return UNAVAILABLE[step] ?? null;
}
