// Client requests of cluster mode (supervisor/src/cluster/): `durun cluster`
// (membership, master, lease, where each placed group runs, replication) and
// `durun cluster events` (recent events of every node).
import { ProtocolError } from './messages.js';
import type { DurunEvent } from './events.js';

export type ClusterRequest = { op: 'cluster'; id: number } | { op: 'cluster-events'; id: number };

export const CLUSTER_OPS: ReadonlySet<string> = new Set(['cluster', 'cluster-events']);

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
  throw new ProtocolError(`unknown request "${String(msg.op)}"`);
}
