// Client requests for checkpoints (issue 3): `durun checkpoint`, `checkpoints`,
// `restore`. messages.ts delegates here; the supervisor side is
// supervisor/src/checkpoint/.
import { field } from './messages.js';

export type CheckpointRequest =
  | { op: 'checkpoint'; id: number; group: string; full?: boolean }
  | { op: 'checkpoints'; id: number; group: string }
  | { op: 'restore'; id: number; group: string; from?: string };

export const CHECKPOINT_OPS: ReadonlySet<string> = new Set(['checkpoint', 'checkpoints', 'restore']);

/** One committed checkpoint as `durun checkpoint(s) --json` prints it. */
export interface CheckpointView {
  group: string; id: string; dir: string; createdAt: string; bytes: number;
  /** Programs held in the barrier (first parked until release), and the longest image write. */
  stallMs: number; dumpStallMs: number; durationMs: number;
  processes: number; kinds: string[]; parent: string | null;
}
export interface CheckpointsAnswer { group: string; checkpoints: CheckpointView[] }
export interface RestoreAnswer { group: string; id: string; programs: number; processes: Array<{ pid: number; innerPid: number }> }

export function parseCheckpointRequest(msg: Record<string, unknown>, id: number): CheckpointRequest {
  const group = field<string>(msg, 'group', 'string');
  if (msg.op === 'checkpoint') return { op: 'checkpoint', id, group, full: field(msg, 'full', 'boolean', true) };
  if (msg.op === 'checkpoints') return { op: 'checkpoints', id, group };
  return { op: 'restore', id, group, from: field(msg, 'from', 'string', true) };
}
