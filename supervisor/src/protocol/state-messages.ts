// The checkpoint API's wire messages (ARCHITECTURE.md, "role state"): what a
// program (C library, Node module, `durun ckpt`) sends after
// hello{role:"state"}, checked here on receipt. Values travel in base64.
import { ProtocolError, field } from './messages.js';

export const STATE_ROLES = ['solo', 'active', 'standby'] as const;
export type StateRole = (typeof STATE_ROLES)[number];

/** Keys: 1-256 bytes of UTF-8, no NUL or newline. Values: what fits a 64 KiB line in base64. */
export const KEY_MAX = 256;
export const VALUE_MAX = 45 * 1024;

export type StateRequest =
  | { op: 'save'; id: number; key: string; data: Buffer; ts?: number }
  | { op: 'load'; id: number; key: string }
  | { op: 'remove'; id: number; key: string }
  | { op: 'list'; id: number }
  | { op: 'role'; id: number; wait: boolean; known?: StateRole };

/** Answers (`data` of a result). */
export interface AcceptedState { group: string; role: StateRole; destination: string }
export interface SaveResult { accepted: boolean; ts: number; destination: string }
export interface LoadResult { found: boolean; data?: string; ts?: number }
export interface ListResult { keys: Array<{ key: string; ts: number; bytes: number }> }
export interface RoleResult { role: StateRole; destination: string }

function key(msg: Record<string, unknown>): string {
  const k = field<string>(msg, 'key', 'string');
  if (k === '' || Buffer.byteLength(k) > KEY_MAX || /[\0\n]/.test(k)) throw new ProtocolError(`${String(msg.op)}: a key is 1-${KEY_MAX} bytes, without NUL or newline`);
  return k;
}

export function parseStateRequest(msg: Record<string, unknown>): StateRequest {
  const id = field<number>(msg, 'id', 'number');
  switch (msg.op) {
    case 'save': {
      const data = Buffer.from(field<string>(msg, 'data', 'string'), 'base64');
      if (data.length > VALUE_MAX) throw new ProtocolError(`save: a value is at most ${VALUE_MAX} bytes`);
      const ts = field<number>(msg, 'ts', 'number', true);
      if (ts !== undefined && (!Number.isSafeInteger(ts) || ts < 0)) throw new ProtocolError('save: ts must be a whole number >= 0');
      return { op: 'save', id, key: key(msg), data, ts };
    }
    case 'load':
    case 'remove':
      return { op: msg.op, id, key: key(msg) };
    case 'list':
      return { op: 'list', id };
    case 'role': {
      const known = field<string>(msg, 'known', 'string', true);
      if (known !== undefined && !STATE_ROLES.includes(known as StateRole)) throw new ProtocolError(`role: known must be one of ${STATE_ROLES.join(', ')}`);
      return { op: 'role', id, wait: field<boolean>(msg, 'wait', 'boolean', true) ?? false, known: known as StateRole | undefined };
    }
    default:
      throw new ProtocolError(`unknown op "${String(msg.op)}" on a state link; ops are save, load, remove, list, role`);
  }
}
