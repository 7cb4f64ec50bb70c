// Client requests for checkpoints (issue 3): `durun checkpoint`, `checkpoints`,
// `restore`, and `migrate` (issue 9). messages.ts delegates here; the supervisor side is
// supervisor/src/checkpoint/.
import { field } from './messages.js';

export type CheckpointRequest =
  | { op: 'checkpoint'; id: number; group: string; full?: boolean }
  | { op: 'checkpoints'; id: number; group: string }
  | { op: 'restore'; id: number; group: string; from?: string }
  | { op: 'migrate'; id: number; group: string; to?: string };

export const CHECKPOINT_OPS: ReadonlySet<string> = new Set(['checkpoint', 'checkpoints', 'restore', 'migrate']);

/** One committed checkpoint as `durun checkpoint(s) --json` prints it. */
export interface CheckpointView {
  group: string; id: string; dir: string; createdAt: string; bytes: number;
  /** Programs held in the barrier (first parked until release), and the longest image write. */
  stallMs: number; dumpStallMs: number; durationMs: number;
  processes: number; kinds: string[]; parent: string | null;
}
export interface CheckpointsAnswer { group: string; checkpoints: CheckpointView[] }
export interface RestoreAnswer { group: string; id: string; programs: number; processes: Array<{ pid: number; innerPid: number }> }
/** `durun migrate`: the checkpoint it moved with, the live TCP connections carried, and how long from the barrier to the restored group calling home. */
export interface MigrateAnswer {
  /** node: where the group runs now (a move to another node, cluster mode); absent for a move on this node. */
  group: string; checkpoint: string; connections: number; processes: Array<{ pid: number; innerPid: number }>; frozenMs: number; node?: string;
  /** Where the time went: parking every member, the network lock, images and commit, ending the old instance, restore until every process called home. */
  steps: { parkMs: number; lockMs: number; captureAndCommitMs: number; endMs: number; restoreMs: number };
}

export function parseCheckpointRequest(msg: Record<string, unknown>, id: number): CheckpointRequest {
  const group = field<string>(msg, 'group', 'string');
  if (msg.op === 'checkpoint') return { op: 'checkpoint', id, group, full: field(msg, 'full', 'boolean', true) };
  if (msg.op === 'checkpoints') return { op: 'checkpoints', id, group };
  if (msg.op === 'migrate') return { op: 'migrate', id, group, to: field(msg, 'to', 'string', true) };
  return { op: 'restore', id, group, from: field(msg, 'from', 'string', true) };
}
