// A validated policy: plain data, no processes. Produced by load.ts from the
// text of policy files, read by the group machinery (supervisor/src/groups/),
// the health checks (issue 5) and checkpointing (issue 3).
import type { RestartPolicy } from '../protocol/messages.js';
import type { GroupHealthConfig, SupervisorHealthConfig } from '../health/config.js';

/** When a starting group counts as initialized, so its dependents may start. */
export type ReadyCondition =
  | { kind: 'started' }
  | { kind: 'notify' }
  | { kind: 'health' }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'delay'; ms: number };

export interface CheckpointPolicy {
  intervalMs: number | null;
  keep: number;
  dir: string | null;
  /** Directories whose files roll back with the group (checkpoint.files), absolute. */
  files: string[];
}

/** Where the saves of the checkpoint API go (supervisor/src/state/). */
export type StateDestination = 'memory' | 'disk' | 'peer' | 'null';
export const STATE_DESTINATIONS: readonly StateDestination[] = ['memory', 'disk', 'peer', 'null'];

export interface StatePolicy {
  /** state.destination; null: the default (peer in an active/standby pair, else memory). */
  destination: StateDestination | null;
  /** standby-of: the group this one stands by for, or null. */
  standbyOf: string | null;
}

export interface GroupPolicy {
  name: string;
  /** Where the [group NAME] line is, for messages. */
  file: string;
  line: number;
  /** Line of each key that was set, for messages about cross-key problems (depends, cycles). */
  keyLines: Record<string, number>;
  /** argv to run, or null when the group is an init script. */
  command: string[] | null;
  /** Absolute path of an LSB init script whose start/stop actions run the group. */
  initScript: string | null;
  cwd: string;
  env: Record<string, string>;
  /** env_file: files of NAME=VALUE lines read by the runner at each launch, absolute. */
  envFiles: string[];
  /** limit.NAME = VALUE: rlimits and cgroup v2 limits, passed to the runner as --limit NAME=VALUE. */
  limits: Record<string, string>;
  /** User name or numeric uid to run as (resolved when the group starts). */
  user: string | null;
  depends: string[];
  ready: ReadyCondition;
  startTimeoutMs: number;
  stopSignal: number;
  /** argv that asks the group to finish its work and stop; replaces stopSignal. */
  stopCommand: string[] | null;
  stopTimeoutMs: number;
  restart: RestartPolicy;
  backoffMs: number;
  backoffMaxMs: number;
  maxRestarts: number;
  restartWindowMs: number;
  autostart: boolean;
  /** check.NAME.*, recovery*, on_event* and depends, validated by issue 5's health/policy-keys.ts. */
  health: GroupHealthConfig;
  checkpoint: CheckpointPolicy;
  state: StatePolicy;
  /** nodes = PRIMARY, BACKUP...: where the group runs in cluster mode (supervisor/src/cluster/); empty: every node on its own. */
  nodes: string[];
  /** failback = yes: when the primary (first of nodes) is back, the node running the group hands it home with its state. */
  failback: boolean;
  /** vip = ADDRESS/PREFIX with vip.dev = IFACE: the group's virtual IP, held by the node that runs it (cluster mode). */
  vip: { address: string; prefix: number; dev: string } | null;
}

export interface Policy {
  /** Groups in file order (files in the order given, a directory's *.ini sorted by name). */
  groups: GroupPolicy[];
  /** The [supervisor] section (metrics.listen, on_event), validated by health/policy-keys.ts. */
  supervisor: SupervisorHealthConfig;
  files: string[];
}

export interface SourceText { file: string; text: string }
