// Parsers for the kinds of value a policy key can hold. Each returns the
// value, or a message (from errors.ts) naming the key and what to write.
import os from 'node:os';
import path from 'node:path';
import { RESTART_POLICIES, type RestartPolicy } from '../protocol/messages.js';
import { parseDuration } from '../protocol/duration.js';
import { limitProblem } from './limits.js';
import { splitWords } from './words.js';
import { msg } from './errors.js';
import { STATE_DESTINATIONS, type ReadyCondition, type StateDestination } from './types.js';

export type Parsed<T> = { ok: T } | { error: string };

/** Same rule as the supervisor applies to `--group` (runner-events.ts). */
export const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function duration(key: string, value: string, minMs = 0): Parsed<number> {
  const ms = parseDuration(value);
  if (ms === null) return { error: msg.badDuration(key, value) };
  if (ms < minMs) return { error: msg.tooShort(key, minMs) };
  return { ok: ms };
}

export function limit(key: string, name: string, value: string): Parsed<string> {
  const problem = limitProblem(name, value);
  return problem ? { error: msg.badLimit(key, value, problem) } : { ok: value };
}

export function count(key: string, value: string): Parsed<number> {
  return /^\d+$/.test(value) ? { ok: Number(value) } : { error: msg.badInt(key, value) };
}

export function bool(key: string, value: string): Parsed<boolean> {
  const v = value.toLowerCase();
  if (['yes', 'true', 'on', '1'].includes(v)) return { ok: true };
  if (['no', 'false', 'off', '0'].includes(v)) return { ok: false };
  return { error: msg.badBool(key, value) };
}

export function words(key: string, value: string): Parsed<string[]> {
  const res = splitWords(value);
  return 'error' in res ? { error: msg.badWords(key, res.error) } : { ok: res.argv };
}

/** A path, made absolute against the directory of the policy file. */
export function filePath(key: string, value: string, file: string): Parsed<string> {
  if (value === '' || value.includes('\0')) return { error: msg.badPath(key, value) };
  return { ok: path.resolve(path.dirname(file), value) };
}

/** Paths as words (quote one with spaces), each made absolute against the policy file's directory. */
export function filePaths(key: string, value: string, file: string): Parsed<string[]> {
  const res = words(key, value);
  if ('error' in res) return res;
  const out: string[] = [];
  for (const w of res.ok) {
    const p = filePath(key, w, file);
    if ('error' in p) return p;
    out.push(p.ok);
  }
  return { ok: [...new Set(out)] };
}

export function restart(key: string, value: string): Parsed<RestartPolicy> {
  return RESTART_POLICIES.includes(value as RestartPolicy) ? { ok: value as RestartPolicy } : { error: msg.badChoice(key, value, RESTART_POLICIES) };
}

export function signal(value: string): Parsed<number> {
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 64) return { ok: Number(value) };
  const name = value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`;
  const num = os.constants.signals[name as keyof typeof os.constants.signals];
  return num === undefined ? { error: msg.badSignal(value) } : { ok: num };
}

export function user(value: string): Parsed<string> {
  return /^(\d+|[a-z_][a-z0-9_.-]*\$?)$/i.test(value) ? { ok: value } : { error: msg.badUser(value) };
}

/** "PORT" or "HOST:PORT" (HOST defaults to 127.0.0.1). */
export function hostPort(text: string): { host: string; port: number } | null {
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return null;
  return { host: m[1] ?? '127.0.0.1', port: Number(m[2]) };
}

export function ready(value: string): Parsed<ReadyCondition> {
  if (value === 'started' || value === 'notify' || value === 'health') return { ok: { kind: value } };
  if (value.startsWith('tcp:')) {
    const hp = hostPort(value.slice(4));
    return hp ? { ok: { kind: 'tcp', ...hp } } : { error: msg.badReady(value) };
  }
  if (value.startsWith('delay:')) {
    const ms = parseDuration(value.slice(6));
    return ms === null ? { error: msg.badReady(value) } : { ok: { kind: 'delay', ms } };
  }
  return { error: msg.badReady(value) };
}

export function destination(key: string, value: string): Parsed<StateDestination> {
  return STATE_DESTINATIONS.includes(value as StateDestination) ? { ok: value as StateDestination } : { error: msg.badChoice(key, value, STATE_DESTINATIONS) };
}

export function groupName(key: string, value: string): Parsed<string> {
  return GROUP_NAME.test(value) ? { ok: value } : { error: msg.badGroupName(key, value) };
}

/** Cluster node names (nodes = PRIMARY, BACKUP...), in order, each once. */
export function nodeList(key: string, value: string): Parsed<string[]> {
  const names = value.split(/[\s,]+/).filter(Boolean);
  const bad = names.find((n) => !GROUP_NAME.test(n));
  if (bad !== undefined) return { error: msg.badNodeName(key, bad) };
  return new Set(names).size === names.length ? { ok: names } : { error: msg.repeatedNode(key, value) };
}

/** An IPv4 address with its prefix length (vip = 10.0.0.100/24). */
export function ipv4Prefix(key: string, value: string): Parsed<{ address: string; prefix: number }> {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) < 1 || Number(m[5]) > 32) return { error: msg.badVip(key, value) };
  return { ok: { address: m.slice(1, 5).map(Number).join('.'), prefix: Number(m[5]) } };
}

/** A network interface name as the kernel accepts it (1-15 bytes, no / or space). */
export function ifaceName(key: string, value: string): Parsed<string> {
  return /^[A-Za-z0-9_.:@-]{1,15}$/.test(value) ? { ok: value } : { error: msg.badIface(key, value) };
}

/** Group names separated by commas and/or spaces. */
export function groupList(key: string, value: string): Parsed<string[]> {
  const names = value.split(/[\s,]+/).filter(Boolean);
  const bad = names.find((n) => !GROUP_NAME.test(n));
  return bad === undefined ? { ok: [...new Set(names)] } : { error: msg.badGroupName(key, bad) };
}

