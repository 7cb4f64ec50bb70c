// Message shapes of wire protocol v1 (ARCHITECTURE.md, "Wire protocol").
// Parsing is strict: a line that does not fit its op is an error naming the field.
import { GROUP_OPS, parseGroupRequest, type GroupRequest } from './group-requests.js';
import { HEALTH_OPS, parseHealthRequest, type HealthRequest } from './health-requests.js';
import { CHECKPOINT_OPS, parseCheckpointRequest, type CheckpointRequest } from './checkpoint-requests.js';
import { OPS_OPS, parseOpsRequest, type OpsRequest } from './ops-requests.js';
import { CLUSTER_OPS, parseClusterRequest, type ClusterRequest } from './cluster-requests.js';

export type RestartPolicy = 'on-crash' | 'on-failure' | 'always' | 'never';
export const RESTART_POLICIES: readonly RestartPolicy[] = ['on-crash', 'on-failure', 'always', 'never'];

export interface ProcHello {
  op: 'hello'; role: 'proc'; pid: number; ppid: number; group: string; program: number;
  instance: number; execCount: number; exe: string; argv: string[]; cwd: string;
  reason: 'load' | 'fork' | 'callhome' | 'restore'; startedAt: number;
}
export interface RunnerHello {
  op: 'hello'; role: 'runner'; pid: number; group: string; argv: string[]; cwd: string;
  restart: RestartPolicy; detached: boolean; tty: boolean;
  backoffMs?: number; backoffMaxMs?: number; maxRestarts?: number; restartWindowMs?: number;
  readopt?: boolean; program?: number; instance?: number; rootPid?: number;
  /** A restored program continues the log of program logOf of its group (one history across a restore). */
  logOf?: number;
}
export interface ClientHello { op: 'hello'; role: 'client'; pid?: number }
/** A checkpoint snapshot's writer (a fork child of member `pid`, as the member sees its pid), reporting on checkpoint `id`. */
/** A program using the checkpoint API; its group comes from its credentials, never from the message. */
export interface StateHello { op: 'hello'; role: 'state' }

export interface WriterHello { op: 'hello'; role: 'writer'; pid: number; group: string; id: string }

export type ProcMessage =
  /** lazy: a silent fork child announces its exec on its parent's link; the new image (exec count execCount) registers only when it must speak. */
  | { op: 'exec'; pid: number; path: string; argv: string[]; lazy?: boolean; execCount?: number }
  | { op: 'exec-failed'; pid: number; errno: number }
  | { op: 'exit'; pid: number; status: number }
  | { op: 'fork'; pid: number; child: number }
  | { op: 'reaped'; pid: number; child: number; status?: number; signal?: number }
  | { op: 'ready'; pid: number }
  | { op: 'ckpt-stopped'; pid: number; id: string }
  | { op: 'ckpt-captured'; pid: number; id: string; stallNs: number }
  | { op: 'ckpt-resumed'; pid: number; id: string; pausedNs: number }
  | { op: 'ckpt-done'; pid: number; id: string; bytes: number; kind: string; stallNs: number }
  | { op: 'ckpt-failed'; pid: number; id: string; error: string; retryInPlace?: boolean };

export type RunnerMessage =
  | { op: 'started'; pid: number; instance: number }
  | { op: 'child-exit'; pid: number; root: boolean; status?: number; signal?: number; instance: number }
  | { op: 'stopping'; signal: number }
  | { op: 'instance-end'; instance: number; status?: number; signal?: number };

/** Requests a client (CLI, TUI) may send; each gets one `result`. */
export type ClientRequest =
  | { op: 'ps'; id: number; group?: string; history?: boolean }
  | { op: 'stop'; id: number; group: string }
  | { op: 'restart'; id: number; group: string }
  | { op: 'logs-info'; id: number; group: string }
  | { op: 'shutdown'; id: number; stopAll: boolean }
  | { op: 'status'; id: number }
  | GroupRequest
  | HealthRequest
  | CheckpointRequest;

/** Every request a client may send: the above, and everyday operation (ops-requests.ts, answered apart). */
export type AnyClientRequest = ClientRequest | OpsRequest | ClusterRequest;

export interface ClientResult { v: 1; op: 'result'; id: number; ok: boolean; data?: unknown; error?: string }

/** A message that failed validation: the text says which field and why. */
export class ProtocolError extends Error {}

type Obj = Record<string, unknown>;

export function field<T>(msg: Obj, key: string, type: 'number' | 'string' | 'boolean', optional = false): T {
  const value = msg[key];
  if (value === undefined && optional) return undefined as T;
  if (typeof value !== type) throw new ProtocolError(`op "${String(msg.op)}": field "${key}" must be a ${type}`);
  return value as T;
}

export function strings(msg: Obj, key: string): string[] {
  const value = msg[key];
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'string')) {
    throw new ProtocolError(`op "${String(msg.op)}": field "${key}" must be an array of strings`);
  }
  return value as string[];
}

/** Parses one received line into an object with a supported version and an op. */
export function parseLine(line: string): Obj & { op: string } {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    throw new ProtocolError('message is not valid JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new ProtocolError('message must be a JSON object');
  const obj = msg as Obj;
  if (obj.v !== 1) throw new ProtocolError(`unsupported protocol version ${JSON.stringify(obj.v)} (this supervisor speaks 1)`);
  if (typeof obj.op !== 'string') throw new ProtocolError('message has no "op"');
  return obj as Obj & { op: string };
}

export function parseHello(msg: Obj): ProcHello | RunnerHello | ClientHello | WriterHello | StateHello {
  if (msg.op !== 'hello') throw new ProtocolError(`first message must be "hello", got "${String(msg.op)}"`);
  const role = field<string>(msg, 'role', 'string');
  if (role === 'client') return { op: 'hello', role: 'client' };
  if (role === 'state') return { op: 'hello', role: 'state' };
  if (role === 'writer') return { op: 'hello', role, pid: field(msg, 'pid', 'number'), group: field(msg, 'group', 'string'), id: field(msg, 'id', 'string') };
  if (role === 'proc') {
    const reason = field<string>(msg, 'reason', 'string');
    if (reason !== 'load' && reason !== 'fork' && reason !== 'callhome' && reason !== 'restore') throw new ProtocolError(`hello: unknown reason "${reason}"`);
    return {
      op: 'hello', role, reason,
      pid: field(msg, 'pid', 'number'), ppid: field(msg, 'ppid', 'number'),
      group: field(msg, 'group', 'string'), program: field(msg, 'program', 'number'),
      instance: field(msg, 'instance', 'number'), execCount: field(msg, 'execCount', 'number'),
      exe: field(msg, 'exe', 'string'), argv: strings(msg, 'argv'), cwd: field(msg, 'cwd', 'string'),
      startedAt: field(msg, 'startedAt', 'number'),
    };
  }
  if (role === 'runner') {
    const restart = field<string>(msg, 'restart', 'string');
    if (!RESTART_POLICIES.includes(restart as RestartPolicy)) {
      throw new ProtocolError(`hello: restart must be one of ${RESTART_POLICIES.join(', ')}`);
    }
    return {
      op: 'hello', role, restart: restart as RestartPolicy,
      pid: field(msg, 'pid', 'number'), group: field(msg, 'group', 'string'),
      argv: strings(msg, 'argv'), cwd: field(msg, 'cwd', 'string'),
      detached: field(msg, 'detached', 'boolean'), tty: field(msg, 'tty', 'boolean'),
      backoffMs: field(msg, 'backoffMs', 'number', true), backoffMaxMs: field(msg, 'backoffMaxMs', 'number', true),
      maxRestarts: field(msg, 'maxRestarts', 'number', true), restartWindowMs: field(msg, 'restartWindowMs', 'number', true),
      readopt: field(msg, 'readopt', 'boolean', true), program: field(msg, 'program', 'number', true),
      instance: field(msg, 'instance', 'number', true), rootPid: field(msg, 'rootPid', 'number', true),
      logOf: field(msg, 'logOf', 'number', true),
    };
  }
  throw new ProtocolError(`hello: unknown role "${role}"`);
}

export function parseProcMessage(msg: Obj): ProcMessage {
  const pid = field<number>(msg, 'pid', 'number');
  switch (msg.op) {
    case 'exec': return {
      op: 'exec', pid, path: field(msg, 'path', 'string'), argv: strings(msg, 'argv'),
      lazy: field(msg, 'lazy', 'boolean', true), execCount: field(msg, 'execCount', 'number', true),
    };
    case 'exec-failed': return { op: 'exec-failed', pid, errno: field(msg, 'errno', 'number') };
    case 'exit': return { op: 'exit', pid, status: field(msg, 'status', 'number') };
    case 'fork': return { op: 'fork', pid, child: field(msg, 'child', 'number') };
    case 'reaped': return {
      op: 'reaped', pid, child: field(msg, 'child', 'number'),
      status: field(msg, 'status', 'number', true), signal: field(msg, 'signal', 'number', true),
    };
    case 'ready': return { op: 'ready', pid };
    case 'ckpt-stopped': return { op: 'ckpt-stopped', pid, id: field(msg, 'id', 'string') };
    case 'ckpt-done': return {
      op: 'ckpt-done', pid, id: field(msg, 'id', 'string'), bytes: field(msg, 'bytes', 'number'),
      kind: field(msg, 'kind', 'string'), stallNs: field(msg, 'stallNs', 'number'),
    };
    case 'ckpt-captured': return {
      op: 'ckpt-captured', pid, id: field(msg, 'id', 'string'), stallNs: field(msg, 'stallNs', 'number'),
    };
    case 'ckpt-resumed': return { op: 'ckpt-resumed', pid, id: field(msg, 'id', 'string'), pausedNs: field(msg, 'pausedNs', 'number') };
    case 'ckpt-failed': return {
      op: 'ckpt-failed', pid, id: field(msg, 'id', 'string'), error: field(msg, 'error', 'string'), retryInPlace: field(msg, 'retryInPlace', 'boolean', true),
    };
    default: throw new ProtocolError(`unknown op "${String(msg.op)}" for a process link`);
  }
}

export function parseRunnerMessage(msg: Obj): RunnerMessage {
  switch (msg.op) {
    case 'started': return { op: 'started', pid: field(msg, 'pid', 'number'), instance: field(msg, 'instance', 'number') };
    case 'child-exit': return {
      op: 'child-exit', pid: field(msg, 'pid', 'number'), root: field(msg, 'root', 'boolean'),
      status: field(msg, 'status', 'number', true), signal: field(msg, 'signal', 'number', true),
      instance: field(msg, 'instance', 'number'),
    };
    case 'stopping': return { op: 'stopping', signal: field(msg, 'signal', 'number') };
    case 'instance-end': return {
      op: 'instance-end', instance: field(msg, 'instance', 'number'),
      status: field(msg, 'status', 'number', true), signal: field(msg, 'signal', 'number', true),
    };
    default: throw new ProtocolError(`unknown op "${String(msg.op)}" for a runner link`);
  }
}

export function parseClientRequest(msg: Obj): AnyClientRequest {
  const id = field<number>(msg, 'id', 'number');
  switch (msg.op) {
    case 'ps': return { op: 'ps', id, group: field(msg, 'group', 'string', true), history: field(msg, 'history', 'boolean', true) };
    case 'stop': return { op: 'stop', id, group: field(msg, 'group', 'string') };
    case 'restart': return { op: 'restart', id, group: field(msg, 'group', 'string') };
    case 'logs-info': return { op: 'logs-info', id, group: field(msg, 'group', 'string') };
    case 'shutdown': return { op: 'shutdown', id, stopAll: field(msg, 'stopAll', 'boolean', true) ?? false };
    case 'status': return { op: 'status', id };
    default:
      if (GROUP_OPS.has(String(msg.op))) return parseGroupRequest(msg, id);
      if (HEALTH_OPS.has(String(msg.op))) return parseHealthRequest(msg, id);
      if (CHECKPOINT_OPS.has(String(msg.op))) return parseCheckpointRequest(msg, id);
      if (OPS_OPS.has(String(msg.op))) return parseOpsRequest(msg, id);
      if (CLUSTER_OPS.has(String(msg.op))) return parseClusterRequest(msg, id);
      throw new ProtocolError(`unknown request "${String(msg.op)}"`);
  }
}
