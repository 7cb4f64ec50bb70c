// `durun migrate GROUP --to NODE` (issue 10): a live move between nodes. The
// move itself is the one of a single node (checkpoint/migrate.ts: pre-copy,
// parked checkpoint with the connections frozen in repair mode, the old
// instance killed where it is parked); what this adds is where the group
// comes back. On the source (owner) node:
//   ship      each checkpoint of the move is streamed to the target
//             (replication.ts: the pre-copy's chain, then the increment taken
//             while the members are parked);
//   hand off  the group's virtual IP is removed here, `handover/GROUP` names
//             the target with the move (its checkpoint and the connections),
//             and the owner key is released;
// and on the target, which takes the owner key as for a failback:
//   move in   its own network lock (the same connections, in its network
//             namespace), the virtual IP taken at once (its holder has just
//             let it go, so no duplicate detection), then the restore, whose
//             durun-restore lifts the lock once the connections are rebuilt
//             and before the programs run; `moved/GROUP` (under its lease)
//             tells the source that the group runs there.
// Clients keep their connections: packets they send meanwhile are dropped on
// both sides and sent again by TCP, and the address answers from the target
// after a gratuitous ARP.
//
// `durun upgrade GROUP` hands a group over the same way but without its
// state: a new binary or policy cannot resume an old image, so the backup
// starts the group afresh (the new version first runs there), the address
// follows, and the old primary, now a backup, runs nothing of it.
import type { LiveConnection } from '../checkpoint/net-lock.js';

/**
 * The value of `handover/GROUP`: a plain node name (failback), or JSON: a
 * move (move), or an upgrade (fresh: the target starts the group afresh,
 * with the binary and policy it has now, and answers in `moved/GROUP` with
 * the same token).
 */
export interface Handover { to: string; move?: MoveIn; fresh?: string }
export interface MoveIn { from: string; checkpoint: string; conns: LiveConnection[] }
/** The value of `moved/GROUP`, written by the target once the group runs there (checkpoint: the move's, or the upgrade's token). */
export interface Moved { checkpoint: string; processes: Array<{ pid: number; innerPid: number }> }

export function parseHandover(value: string | undefined): Handover | null {
  if (!value) return null;
  if (!value.startsWith('{')) return { to: value };
  const h = JSON.parse(value) as Handover;
  if (typeof h.to !== 'string' || (h.move && (typeof h.move.checkpoint !== 'string' || !Array.isArray(h.move.conns)))) throw new Error(`bad handover record: ${value}`);
  return h;
}

/** How long the source waits for the target to say the group runs there. */
export const MOVE_IN_MS = 30_000;
