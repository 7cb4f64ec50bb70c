// Answers the cluster's client requests (protocol/cluster-requests.ts) from
// the running cluster service, or says why there is none.
import type { ClusterRequest, ClusterStatus, ClusterEvent, UpgradeAnswer } from '../protocol/cluster-requests.js';
import type { ClusterService } from './service.js';
import type { MigrateAnswer } from '../protocol/checkpoint-requests.js';

/** The cluster part of a supervisor: its service once joined, or why it has none. */
export interface ClusterSlot {
  service: ClusterService | null;
  /** Why there is no service: not configured, or what failed while starting it. */
  why: string;
}

export async function handleClusterRequest(slot: ClusterSlot, req: ClusterRequest): Promise<ClusterStatus | { events: ClusterEvent[] } | UpgradeAnswer> {
  const svc = slot.service;
  if (!svc) throw new Error(slot.why);
  if (req.op === 'upgrade') return svc.upgrade(req.group);
  return req.op === 'cluster' ? svc.status() : { events: svc.events() };
}

/** `durun migrate GROUP --to NODE`: a move to another node, from the node that owns the group. */
export function handleMigrateTo(slot: ClusterSlot, group: string, to: string): Promise<MigrateAnswer> {
  const svc = slot.service;
  if (!svc) return Promise.reject(new Error(`durun migrate --to ${to}: ${slot.why}`));
  return svc.migrateTo(group, to);
}
