// Client requests of cluster mode (supervisor/src/cluster/): `durun cluster`
// (membership, master, lease, where each placed group runs, replication),
// `durun cluster events` (recent events of every node) and `durun upgrade`.
import { ProtocolError, field } from './messages.js';
import type { DurunEvent } from './events.js';

export type ClusterRequest = { op: 'cluster'; id: number } | { op: 'cluster-events'; id: number } | { op: 'upgrade'; id: number; group: string };

export const CLUSTER_OPS: ReadonlySet<string> = new Set(['cluster', 'cluster-events', 'upgrade']);

/** `durun upgrade GROUP`: the group now runs, started afresh (the new binary or policy), on `node`; `from` runs nothing of it. */
export interface UpgradeAnswer { group: string; from: string; node: string; processes: Array<{ pid: number; innerPid: number }>; downMs: number }

export type ClusterRole = 'primary' | 'secondary' | 'spare' | 'offline';

export interface ClusterStatus {
  name: string;
  node: string;
  endpoints: string[];
  state: 'joining' | 'member' | 'demoted';
  master: string | null;
  lease: { id: string | null; ttlSeconds: number; validForMs: number };
  nodes: Array<{ node: string; address: string; pid: number; since: string; lease: string }>;
  groups: Array<{
    group: string; nodes: string[]; owner: string | null; roles: Record<string, ClusterRole>;
    replicas: Record<string, { id: string; storedAt: string; lagMs: number }>;
    /** The group's virtual IP on this node: held here, or why not although it should be. */
    vip: { address: string; held: boolean; problem: string | null } | null;
  }>;
}

export interface ClusterEvent { node: string; event: DurunEvent }

export function parseClusterRequest(msg: Record<string, unknown>, id: number): ClusterRequest {
  if (msg.op === 'cluster' || msg.op === 'cluster-events') return { op: msg.op, id };
  if (msg.op === 'upgrade') return { op: 'upgrade', id, group: field<string>(msg, 'group', 'string') };
  throw new ProtocolError(`unknown request "${String(msg.op)}"`);
}
