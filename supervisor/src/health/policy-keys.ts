// Validates the health, recovery and on_event keys of one policy section
// into config.ts shapes. Pure: text in, data or "file:line: key: what to do" out.
import { CronError, parseCron } from './cron.js';
import { DEFAULTS, RECOVERY_STEPS, type CheckConfig, type GroupHealthConfig, type HookConfig, type Probe, type RecoveryStep, type SupervisorHealthConfig } from './config.js';
import { DURATION_HINT, parseDuration } from '../protocol/duration.js';

export interface Entry { key: string; value: string; line: number }

const CHECK_KEY = /^check\.([A-Za-z0-9_-]+)\.(command|tcp|http|interval|timeout|threshold|grace|cron)$/;
const GROUP_KEYS = new Set(['recovery', 'recovery.attempts', 'recovery.window', 'on_event', 'on_event.timeout', 'depends']);

/** True for the keys this module owns in a `[group NAME]` section. */
export function isHealthKey(key: string): boolean {
  return CHECK_KEY.test(key) || GROUP_KEYS.has(key);
}

class Errors {
  readonly list: string[] = [];
  constructor(private readonly file: string) {}
  add(e: Entry, what: string): void {
    this.list.push(`${this.file}:${e.line}: ${e.key}: ${what}`);
  }
}

function duration(e: Entry, errs: Errors): number {
  const ms = parseDuration(e.value);
  if (ms === null) errs.add(e, `"${e.value}" is not a duration; ${DURATION_HINT}`);
  return ms ?? 0;
}

function positiveInt(e: Entry, errs: Errors): number {
  const n = Number(e.value);
  if (!Number.isInteger(n) || n < 1) errs.add(e, `"${e.value}" must be a whole number of at least 1`);
  return n;
}

function hostPort(e: Entry, errs: Errors): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(e.value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) errs.add(e, `"${e.value}" must be HOST:PORT, e.g. 127.0.0.1:8080`);
  return { host: m?.[1] ?? '', port };
}

function probeOf(name: string, kind: string, e: Entry, errs: Errors): Probe {
  if (kind === 'tcp') return { kind: 'tcp', ...hostPort(e, errs) };
  if (kind === 'http') {
    if (!/^http:\/\/[^/]+/.test(e.value)) errs.add(e, `"${e.value}" must be an http:// URL`);
    return { kind: 'http', url: e.value };
  }
  if (!e.value.trim()) errs.add(e, `check ${name} needs a command to run`);
  return { kind: 'command', command: e.value };
}

function checks(entries: Entry[], errs: Errors): CheckConfig[] {
  const byName = new Map<string, Map<string, Entry>>();
  for (const e of entries) {
    const m = CHECK_KEY.exec(e.key);
    if (!m) continue;
    const keys = byName.get(m[1]!) ?? new Map<string, Entry>();
    keys.set(m[2]!, e);
    byName.set(m[1]!, keys);
  }
  const out: CheckConfig[] = [];
  for (const [name, keys] of byName) {
    const probes = ['command', 'tcp', 'http'].filter((k) => keys.has(k));
    const first = [...keys.values()][0]!;
    if (probes.length !== 1) {
      errs.add(first, `check ${name} needs exactly one of check.${name}.command, .tcp or .http (has ${probes.length})`);
      continue;
    }
    const cron = keys.get('cron');
    let schedule = null;
    if (cron) {
      try {
        schedule = parseCron(cron.value);
      } catch (err) {
        if (!(err instanceof CronError)) throw err;
        errs.add(cron, err.message);
      }
    }
    const interval = keys.get('interval');
    out.push({
      name,
      probe: probeOf(name, probes[0]!, keys.get(probes[0]!)!, errs),
      intervalMs: interval ? duration(interval, errs) : cron ? null : DEFAULTS.intervalMs,
      cron: schedule,
      timeoutMs: keys.has('timeout') ? duration(keys.get('timeout')!, errs) : DEFAULTS.timeoutMs,
      threshold: keys.has('threshold') ? positiveInt(keys.get('threshold')!, errs) : DEFAULTS.threshold,
      graceMs: keys.has('grace') ? duration(keys.get('grace')!, errs) : DEFAULTS.graceMs,
    });
  }
  return out;
}

function steps(e: Entry, errs: Errors): RecoveryStep[] {
  const list = e.value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) {
    if (!RECOVERY_STEPS.includes(s as RecoveryStep)) errs.add(e, `unknown step "${s}"; steps are ${RECOVERY_STEPS.join(', ')}`);
  }
  if (list.length === 0) errs.add(e, `list at least one step, e.g. recovery = restart-process, restart-group`);
  return list as RecoveryStep[];
}

function hook(entries: Entry[], errs: Errors): HookConfig[] {
  const cmd = entries.find((e) => e.key === 'on_event');
  const timeout = entries.find((e) => e.key === 'on_event.timeout');
  if (!cmd) {
    if (timeout) errs.add(timeout, 'set on_event (the command to run) too, or remove this key');
    return [];
  }
  return [{ command: cmd.value, timeoutMs: timeout ? duration(timeout, errs) : DEFAULTS.hookTimeoutMs }];
}

/** The health policy of one `[group NAME]` section; only this module's keys are read. */
export function parseGroupHealth(group: string, entries: Entry[], file: string): { config: GroupHealthConfig; errors: string[] } {
  const errs = new Errors(file);
  const get = (k: string) => entries.find((e) => e.key === k);
  const rec = get('recovery');
  const attempts = get('recovery.attempts');
  const window = get('recovery.window');
  const depends = get('depends');
  const config: GroupHealthConfig = {
    group,
    checks: checks(entries, errs),
    recovery: {
      steps: rec ? steps(rec, errs) : [...DEFAULTS.recovery.steps],
      attempts: attempts ? positiveInt(attempts, errs) : DEFAULTS.recovery.attempts,
      windowMs: window ? duration(window, errs) : DEFAULTS.recovery.windowMs,
    },
    hooks: hook(entries, errs),
    dependsOn: depends ? depends.value.split(/[\s,]+/).filter(Boolean) : [],
  };
  return { config, errors: errs.list };
}

/** The `[supervisor]` section's metrics.listen and on_event keys. */
export function parseSupervisorHealth(entries: Entry[], file: string): { config: SupervisorHealthConfig; errors: string[] } {
  const errs = new Errors(file);
  const listen = entries.find((e) => e.key === 'metrics.listen');
  let metricsListen = null;
  if (listen) {
    metricsListen = hostPort(listen, errs);
    if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(metricsListen.host)) {
      errs.add(listen, `the metrics listener serves without authentication, so it binds to loopback only: use 127.0.0.1:${metricsListen.port}`);
    }
  }
  return { config: { metricsListen, hooks: hook(entries, errs) }, errors: errs.list };
}
