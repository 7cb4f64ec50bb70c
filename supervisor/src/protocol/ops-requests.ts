// Client requests of everyday operation (issue 13): `durun rm`, `start`,
// `signal`, `save`, `resurrect`. messages.ts delegates here; the supervisor
// answers them in groups/ops-service.ts.
import { ProtocolError, field } from './messages.js';

export type OpsRequest =
  | { op: 'rm'; id: number; group: string; force?: boolean }
  | { op: 'start'; id: number; group: string }
  | { op: 'signal'; id: number; group: string; signal: number; all?: boolean }
  | { op: 'save'; id: number }
  | { op: 'resurrect'; id: number };

export const OPS_OPS: ReadonlySet<string> = new Set(['rm', 'start', 'signal', 'save', 'resurrect']);

/** What `rm` answers: what went, so the CLI can say it. */
export interface RemoveResult { group: string; programs: number; logFiles: number; stopped: boolean }
/** What `start` answers: the programs launched again (ad-hoc), or the policy groups brought up. */
export interface StartResult { group: string; started: number; policy: boolean }
/** What `signal` answers: how many programs' runners were asked to deliver it. */
export interface SignalResult { group: string; signal: number; programs: number; all: boolean }
/** What `save` answers. */
export interface SaveResult { file: string; groups: string[]; programs: number }
/** What `resurrect` answers. */
/** What `resurrect` answers; saved is false when there was no saved.json (nothing to do, not an error: the boot service runs it always). */
export interface ResurrectResult { file: string; saved: boolean; started: string[]; alreadyRunning: string[] }

type Obj = Record<string, unknown>;

export function parseOpsRequest(msg: Obj, id: number): OpsRequest {
  switch (msg.op) {
    case 'rm': return { op: 'rm', id, group: field(msg, 'group', 'string'), force: field(msg, 'force', 'boolean', true) };
    case 'start': return { op: 'start', id, group: field(msg, 'group', 'string') };
    case 'signal': {
      const signal = field<number>(msg, 'signal', 'number');
      if (!Number.isInteger(signal) || signal < 1 || signal > 64) throw new ProtocolError('signal: signal must be a signal number from 1 to 64');
      return { op: 'signal', id, group: field(msg, 'group', 'string'), signal, all: field(msg, 'all', 'boolean', true) };
    }
    case 'save': return { op: 'save', id };
    case 'resurrect': return { op: 'resurrect', id };
    default: throw new ProtocolError(`unknown request "${String(msg.op)}"`);
  }
}
