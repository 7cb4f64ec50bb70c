// Client requests of everyday operation (issue 13): `durun rm`. messages.ts
// delegates here; the supervisor answers them in groups/ops-service.ts.
import { field } from './messages.js';
import { ProtocolError } from './messages.js';

export type OpsRequest =
  | { op: 'rm'; id: number; group: string; force?: boolean };

export const OPS_OPS: ReadonlySet<string> = new Set(['rm']);

/** What `rm` answers: what went, so the CLI can say it. */
export interface RemoveResult { group: string; programs: number; logFiles: number; stopped: boolean }

type Obj = Record<string, unknown>;

export function parseOpsRequest(msg: Obj, id: number): OpsRequest {
  switch (msg.op) {
    case 'rm': return { op: 'rm', id, group: field(msg, 'group', 'string'), force: field(msg, 'force', 'boolean', true) };
    default: throw new ProtocolError(`unknown request "${String(msg.op)}"`);
  }
}
