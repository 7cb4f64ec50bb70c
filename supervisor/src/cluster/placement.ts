// Where a group runs: its policy's `nodes = PRIMARY, BACKUP...` (ordered), the
// live nodes and the current owner give each node a role. Pure.
import type { ClusterRole as Role } from '../protocol/cluster-requests.js';

export interface PlacementView {
  /** nodes = ..., in order; empty: the group runs on every node on its own (not placed). */
  nodes: readonly string[];
  /** The node holding the group's owner key, or null. */
  owner: string | null;
  live: ReadonlySet<string>;
}

/**
 * primary: the owner; secondary: the live listed node that takes over next
 * (first in order after the owner's place, wrapping); spare: other live
 * listed nodes; offline: listed nodes without a lease.
 */
export function roles(p: PlacementView): Map<string, Role> {
  const out = new Map<string, Role>();
  const next = successor(p.nodes, p.owner, p.live);
  for (const n of p.nodes) {
    if (!p.live.has(n)) out.set(n, 'offline');
    else if (n === p.owner) out.set(n, 'primary');
    else if (n === next) out.set(n, 'secondary');
    else out.set(n, 'spare');
  }
  return out;
}

/** The live listed node, other than the one that failed, that takes over: the first after it in order. */
export function successor(nodes: readonly string[], failed: string | null, live: ReadonlySet<string>): string | null {
  const start = failed === null ? -1 : nodes.indexOf(failed);
  for (let i = 1; i <= nodes.length; i++) {
    const n = nodes[(start + i + nodes.length) % nodes.length]!;
    if (n !== failed && live.has(n)) return n;
  }
  return null;
}
