// Client requests for policy groups (issue 4): `durun up`, `down`, `reload`,
// `notify`, `service`. Kept apart from messages.ts, which delegates here.
import { ProtocolError, field, strings } from './messages.js';

export type GroupRequest =
  | { op: 'up'; id: number; paths?: string[]; groups?: string[]; autostart?: boolean }
  | { op: 'down'; id: number; groups?: string[] }
  | { op: 'reload'; id: number }
  | { op: 'notify'; id: number; group: string; ready: boolean; pid?: number }
  | { op: 'service'; id: number; script: string; action: ServiceAction };

export type ServiceAction = 'start' | 'stop' | 'restart' | 'status';
const SERVICE_ACTIONS: readonly ServiceAction[] = ['start', 'stop', 'restart', 'status'];
export const GROUP_OPS: ReadonlySet<string> = new Set(['up', 'down', 'reload', 'notify', 'service']);

/** What `up` answers. */
export interface UpResult { started: string[]; alreadyUp: string[]; files: string[] }
/** What `service` answers: an LSB exit code and a line for the operator. */
export interface ServiceResult { code: number; message: string }
/** The policy part of `durun status`. */
export interface PolicyStatus { sources: string[]; groups: string[]; lastError: { message: string; at: string } | null }

type Obj = Record<string, unknown>;
const optionalStrings = (msg: Obj, key: string) => (msg[key] === undefined ? undefined : strings(msg, key));

export function parseGroupRequest(msg: Obj, id: number): GroupRequest {
  switch (msg.op) {
    case 'up': return { op: 'up', id, paths: optionalStrings(msg, 'paths'), groups: optionalStrings(msg, 'groups'), autostart: field(msg, 'autostart', 'boolean', true) };
    case 'down': return { op: 'down', id, groups: optionalStrings(msg, 'groups') };
    case 'reload': return { op: 'reload', id };
    case 'notify': return { op: 'notify', id, group: field(msg, 'group', 'string'), ready: field(msg, 'ready', 'boolean'), pid: field(msg, 'pid', 'number', true) };
    case 'service': {
      const action = field<string>(msg, 'action', 'string');
      if (!SERVICE_ACTIONS.includes(action as ServiceAction)) throw new ProtocolError(`service: action must be one of ${SERVICE_ACTIONS.join(', ')}`);
      return { op: 'service', id, script: field(msg, 'script', 'string'), action: action as ServiceAction };
    }
    default: throw new ProtocolError(`unknown request "${String(msg.op)}"`);
  }
}
