// Answers the cluster's client requests (protocol/cluster-requests.ts) from
// the running cluster service, or says why there is none.
import type { ClusterRequest, ClusterStatus, ClusterEvent } from '../protocol/cluster-requests.js';
import type { ClusterService } from './service.js';

/** The cluster part of a supervisor: its service once joined, or why it has none. */
export interface ClusterSlot {
  service: ClusterService | null;
  /** Why there is no service: not configured, or what failed while starting it. */
  why: string;
}

export async function handleClusterRequest(slot: ClusterSlot, req: ClusterRequest): Promise<ClusterStatus | { events: ClusterEvent[] }> {
  const svc = slot.service;
  if (!svc) throw new Error(slot.why);
  return req.op === 'cluster' ? svc.status() : { events: svc.events() };
}
