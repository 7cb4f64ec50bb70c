// The health, recovery and alerting policy of groups, as validated data
// (docs/health.md lists the keys). Knows no processes and no files.
import type { CronSchedule } from './cron.js';

export type RecoveryStep = 'restart-process' | 'restart-group' | 'restore' | 'failover';
export const RECOVERY_STEPS: readonly RecoveryStep[] = ['restart-process', 'restart-group', 'restore', 'failover'];

export type Probe =
  | { kind: 'command'; command: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'http'; url: string };

export interface CheckConfig {
  name: string;
  probe: Probe;
  /** Time between the end of one run and the start of the next; null for a cron-only check. */
  intervalMs: number | null;
  cron: CronSchedule | null;
  timeoutMs: number;
  /** Consecutive failures that make a fault. */
  threshold: number;
  /** After the group (re)starts, failures within this time do not count; a pass ends it early. */
  graceMs: number;
  /** The group's `user =`: the check runs as that account, never as the supervisor's (root's) own. */
  user?: string | null;
}

export interface RecoveryConfig { steps: RecoveryStep[]; attempts: number; windowMs: number }

/** user: a group's `user =`, as which its hook runs (the supervisor's hooks run as the supervisor). */
export interface HookConfig { command: string; timeoutMs: number; user?: string | null }

export interface GroupHealthConfig {
  group: string;
  checks: CheckConfig[];
  recovery: RecoveryConfig;
  hooks: HookConfig[];
  /** Groups this one needs: their faults explain this one's (error correlation). */
  dependsOn: string[];
}

export interface SupervisorHealthConfig {
  metricsListen: { host: string; port: number } | null;
  hooks: HookConfig[];
}

export interface HealthPolicy { groups: Map<string, GroupHealthConfig>; supervisor: SupervisorHealthConfig }

export const DEFAULTS = {
  intervalMs: 10_000, timeoutMs: 5_000, threshold: 3, graceMs: 0,
  recovery: { steps: ['restart-process', 'restart-group'] as RecoveryStep[], attempts: 3, windowMs: 300_000 },
  hookTimeoutMs: 10_000,
};

export const emptyPolicy = (): HealthPolicy => ({ groups: new Map(), supervisor: { metricsListen: null, hooks: [] } });

/**
 * A group's policy, or for a group started without one (`durun -- CMD`) no
 * checks and a ladder of restart-process alone: its restart policy's rate
 * limit is final, as `durun --help` promises, and nothing relaunches it behind
 * the operator's back.
 */
export function groupPolicy(policy: HealthPolicy, group: string): GroupHealthConfig {
  return policy.groups.get(group) ?? { group, checks: [], recovery: { ...DEFAULTS.recovery, steps: ['restart-process'] }, hooks: [], dependsOn: [] };
}
