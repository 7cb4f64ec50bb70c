// Second pass: turns one [group NAME] section into a GroupPolicy, key by key,
// with defaults for what is not set. The health, recovery and on_event keys
// belong to issue 5 and are validated by its health/policy-keys.ts, so one
// file serves both and a key is validated in exactly one place.
import path from 'node:path';
import { PolicyError, msg } from './errors.js';
import type { Section } from './scan.js';
import type { GroupPolicy } from './types.js';
import * as v from './values.js';
import { LIMIT_NAMES } from './limits.js';
import { closest } from './suggest.js';
import { isHealthKey, parseGroupHealth } from '../health/policy-keys.js';

export const DEFAULTS = {
  startTimeoutMs: 30_000, stopTimeoutMs: 10_000, stopSignal: 15,
  backoffMs: 100, backoffMaxMs: 30_000, maxRestarts: 5, restartWindowMs: 60_000, checkpointKeep: 3,
} as const;

type Setter = (g: GroupPolicy, value: string, key: string) => string | null;

/** Applies a parsed value, or returns its error. */
function set<T>(parsed: v.Parsed<T>, apply: (value: T) => void): string | null {
  if ('error' in parsed) return parsed.error;
  apply(parsed.ok);
  return null;
}

const KEYS: Record<string, Setter> = {
  command: (g, val, key) => set(v.words(key, val), (a) => (g.command = a)),
  init_script: (g, val, key) => set(v.filePath(key, val, g.file), (p) => (g.initScript = p)),
  cwd: (g, val, key) => set(v.filePath(key, val, g.file), (p) => (g.cwd = p)),
  user: (g, val) => set(v.user(val), (u) => (g.user = u)),
  depends: (g, val, key) => set(v.groupList(key, val), (l) => (g.depends = l)),
  ready: (g, val) => set(v.ready(val), (r) => (g.ready = r)),
  start_timeout: (g, val, key) => set(v.duration(key, val, 1), (ms) => (g.startTimeoutMs = ms)),
  stop_signal: (g, val) => set(v.signal(val), (s) => (g.stopSignal = s)),
  stop_command: (g, val, key) => set(v.words(key, val), (a) => (g.stopCommand = a)),
  stop_timeout: (g, val, key) => set(v.duration(key, val), (ms) => (g.stopTimeoutMs = ms)),
  restart: (g, val, key) => set(v.restart(key, val), (r) => (g.restart = r)),
  backoff: (g, val, key) => set(v.duration(key, val), (ms) => (g.backoffMs = ms)),
  backoff_max: (g, val, key) => set(v.duration(key, val), (ms) => (g.backoffMaxMs = ms)),
  max_restarts: (g, val, key) => set(v.count(key, val), (n) => (g.maxRestarts = n)),
  restart_window: (g, val, key) => set(v.duration(key, val, 1), (ms) => (g.restartWindowMs = ms)),
  autostart: (g, val, key) => set(v.bool(key, val), (b) => (g.autostart = b)),
  'checkpoint.interval': (g, val, key) => set(v.duration(key, val, 1), (ms) => (g.checkpoint.intervalMs = ms)),
  'checkpoint.keep': (g, val, key) => set(v.count(key, val), (n) => (g.checkpoint.keep = n)),
  'checkpoint.dir': (g, val, key) => set(v.filePath(key, val, g.file), (p) => (g.checkpoint.dir = p)),
  'checkpoint.files': (g, val, key) => set(v.filePaths(key, val, g.file), (l) => (g.checkpoint.files = l)),
  env_file: (g, val, key) => set(v.filePaths(key, val, g.file), (l) => (g.envFiles = l)),
  'state.destination': (g, val, key) => set(v.destination(key, val), (d) => (g.state.destination = d)),
  'standby-of': (g, val, key) => set(v.groupName(key, val), (n) => (g.state.standbyOf = n)),
  nodes: (g, val, key) => set(v.nodeList(key, val), (l) => (g.nodes = l)),
  failback: (g, val, key) => set(v.bool(key, val), (b) => (g.failback = b)),
  vip: (g, val, key) => set(v.ipv4Prefix(key, val), (a) => (g.vip = { ...a, dev: g.vip?.dev ?? '' })),
  'vip.dev': (g, val, key) => set(v.ifaceName(key, val), (dev) => (g.vip = { address: g.vip?.address ?? '', prefix: g.vip?.prefix ?? 32, dev })),
};

/** Every key spelling, for "did you mean". */
const KNOWN = [
  ...Object.keys(KEYS), 'env.NAME', ...LIMIT_NAMES.map((n) => `limit.${n}`), 'recovery', 'recovery.attempts', 'recovery.window', 'on_event', 'on_event.timeout',
  ...['command', 'tcp', 'http', 'interval', 'timeout', 'threshold', 'grace', 'cron'].map((f) => `check.NAME.${f}`),
];

function envSetter(key: string): Setter | null {
  const m = /^env\.(.*)$/.exec(key);
  if (!m) return null;
  return (g, val) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(m[1]!) ? ((g.env[m[1]!] = val), null) : msg.badEnvName(key));
}

function limitSetter(key: string): Setter | null {
  const m = /^limit\.(.*)$/.exec(key);
  if (!m) return null;
  return (g, val) => set(v.limit(key, m[1]!, val), (ok) => (g.limits[m[1]!] = ok));
}

function emptyGroup(file: string, section: Section, name: string): GroupPolicy {
  return {
    name, file, line: section.line, keyLines: Object.fromEntries(section.entries.map((e) => [e.key, e.line])),
    command: null, initScript: null, cwd: path.dirname(file), env: {}, envFiles: [], limits: {}, user: null, depends: [], ready: { kind: 'started' },
    startTimeoutMs: DEFAULTS.startTimeoutMs, stopSignal: DEFAULTS.stopSignal, stopCommand: null, stopTimeoutMs: DEFAULTS.stopTimeoutMs,
    restart: 'on-crash', backoffMs: DEFAULTS.backoffMs, backoffMaxMs: DEFAULTS.backoffMaxMs, maxRestarts: DEFAULTS.maxRestarts,
    restartWindowMs: DEFAULTS.restartWindowMs, autostart: false,
    health: parseGroupHealth(name, [], file).config, checkpoint: { intervalMs: null, keep: DEFAULTS.checkpointKeep, dir: null, files: [] },
    state: { destination: null, standbyOf: null }, nodes: [], failback: false, vip: null,
  };
}

/** Builds one group from its section; pushes errors and returns null when any key is wrong. */
export function buildGroup(file: string, section: Section, name: string, errors: PolicyError[]): GroupPolicy | null {
  const before = errors.length;
  const at = (line: number, text: string) => errors.push(new PolicyError(file, line, text));
  const g = emptyGroup(file, section, name);
  const healthEntries = section.entries.filter((e) => isHealthKey(e.key));
  for (const e of section.entries) {
    const setter = KEYS[e.key] ?? envSetter(e.key) ?? limitSetter(e.key);
    if (!setter) {
      if (!isHealthKey(e.key)) at(e.line, msg.unknownKey(e.key, name, closest(e.key, KNOWN)));
      if (e.key !== 'depends') continue;
    }
    if (e.value === '') at(e.line, msg.noValue(e.key));
    else if (setter) {
      const err = setter(g, e.value, e.key);
      if (err) at(e.line, err);
    }
  }
  const health = parseGroupHealth(name, healthEntries, file);
  // Checks and hooks of a `user =` group run as that user, never as the (root) supervisor.
  g.health = { ...health.config, checks: health.config.checks.map((c) => ({ ...c, user: g.user })), hooks: health.config.hooks.map((h) => ({ ...h, user: g.user })) };
  errors.push(...health.errors.map(PolicyError.parse));
  if (!g.command && !g.initScript && !('command' in g.keyLines) && !('init_script' in g.keyLines)) at(section.line, msg.needsCommand(name));
  if ('command' in g.keyLines && 'init_script' in g.keyLines) at(Math.max(g.keyLines.command!, g.keyLines.init_script!), msg.bothCommands(name));
  if (g.ready.kind === 'health' && g.health.checks.length === 0) at(g.keyLines.ready!, msg.readyNeedsCheck(name));
  if (g.vip && (!g.vip.address || !g.vip.dev)) at(g.keyLines.vip ?? g.keyLines['vip.dev']!, msg.vipPair(name));
  if (g.vip && g.nodes.length === 0) at(g.keyLines.vip!, msg.vipNeedsNodes(name));
  return errors.length === before ? g : null;
}
