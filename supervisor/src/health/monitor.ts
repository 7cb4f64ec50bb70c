// The health monitor: runs each group's checks on their interval or cron
// schedule while the group runs, applies the start grace period and the
// failure threshold, and reports verdict changes (health events) and faults.
import type { Registry } from '../model/registry.js';
import type { CheckStatus } from '../protocol/health-requests.js';
import type { EventSink } from '../events/sink.js';
import type { CheckConfig, GroupHealthConfig, HealthPolicy } from './config.js';
import { nextFire } from './cron.js';
import { runCheck, type CheckResult } from './run-check.js';
import { diag } from '../diag.js';

/** Latency samples kept per check for `durun advise`. */
const SAMPLES_KEEP = 500;

export interface HealthFault { group: string; check: string; kind: 'hang' | 'unhealthy'; observedAt: number; reason: string; runs: number; status: number | null }

interface CheckState {
  cfg: CheckConfig;
  timer: NodeJS.Timeout | null;
  running: boolean;
  failures: number;
  verdict: boolean | null;
  samples: Array<{ ms: number; healthy: boolean; timedOut: boolean }>;
  last: CheckResult | null;
  /** When the check last passed: a pass after the group (re)started ends the grace period early. */
  lastPassAt: number | null;
  /** Runs since the check was (re)configured. */
  runs: number;
}

export class HealthMonitor {
  private readonly checks = new Map<string, Map<string, CheckState>>();
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly sink: EventSink,
    private readonly onFault: (f: HealthFault) => void,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Applies a (new) policy: checks of changed groups restart their schedules, others keep theirs. */
  apply(policy: HealthPolicy): void {
    for (const [group, states] of this.checks) {
      const cfg = policy.groups.get(group);
      if (!cfg || JSON.stringify(cfg.checks) !== JSON.stringify([...states.values()].map((s) => s.cfg))) this.drop(group);
    }
    for (const cfg of policy.groups.values()) if (!this.checks.has(cfg.group) && cfg.checks.length) this.add(cfg);
  }

  stop(): void {
    this.stopped = true;
    for (const g of [...this.checks.keys()]) this.drop(g);
  }

  /** Runs every check of the groups once now (durun health); results count like scheduled ones. */
  async runOnce(groups: string[]): Promise<CheckResult[]> {
    const out: CheckResult[] = [];
    await Promise.all(groups.flatMap((g) => [...(this.checks.get(g)?.values() ?? [])].map(async (s) => {
      const r = await runCheck(g, s.cfg, this.env);
      this.record(g, s, r);
      out.push(r);
    })));
    return out.sort((a, b) => a.group.localeCompare(b.group) || a.check.localeCompare(b.check));
  }

  groupsWithChecks(): string[] {
    return [...this.checks.keys()];
  }

  /** Each configured check of the group (or of all groups) with its last result, without running any. */
  lastResults(group?: string): CheckStatus[] {
    const groups = group === undefined ? [...this.checks.keys()] : [group];
    return groups.flatMap((g) => [...(this.checks.get(g)?.values() ?? [])].map((s) => {
      if (!s.last) return { group: g, check: s.cfg.name, last: null };
      const { startedAt, ...verdict } = s.last;
      return { group: g, check: s.cfg.name, last: { ...verdict, at: new Date(startedAt).toISOString() } };
    }));
  }

  samples(group: string): Map<string, { cfg: CheckConfig; samples: CheckState['samples'] }> {
    return new Map([...(this.checks.get(group) ?? new Map<string, CheckState>())].map(([n, s]) => [n, { cfg: s.cfg, samples: s.samples }]));
  }

  private add(cfg: GroupHealthConfig): void {
    const states = new Map<string, CheckState>();
    for (const c of cfg.checks) states.set(c.name, { cfg: c, timer: null, running: false, failures: 0, verdict: null, samples: [], last: null, lastPassAt: null, runs: 0 });
    this.checks.set(cfg.group, states);
    for (const s of states.values()) this.schedule(cfg.group, s, Date.now());
  }

  private drop(group: string): void {
    for (const s of this.checks.get(group)?.values() ?? []) if (s.timer) clearTimeout(s.timer);
    this.checks.delete(group);
  }

  /** Arms the next run: `from` is when the previous run ended (interval) or fired (cron). */
  private schedule(group: string, s: CheckState, from: number): void {
    if (this.stopped || this.checks.get(group)?.get(s.cfg.name) !== s) return;
    const cronAt = s.cfg.cron ? nextFire(s.cfg.cron, from) : null;
    const intervalAt = s.cfg.intervalMs !== null ? from + s.cfg.intervalMs : null;
    const at = [cronAt, intervalAt].filter((t): t is number => t !== null).reduce((a, b) => Math.min(a, b), Infinity);
    if (at === Infinity) return;
    s.timer = setTimeout(() => void this.fire(group, s, at), Math.max(0, at - Date.now()));
    s.timer.unref();
  }

  private async fire(group: string, s: CheckState, at: number): Promise<void> {
    s.timer = null;
    const g = this.registry.group(group);
    if (!g || g.state !== 'running' || s.running) return this.schedule(group, s, Math.max(at, Date.now()));
    s.running = true;
    try {
      this.record(group, s, await runCheck(group, s.cfg, this.env));
    } catch (err) {
      diag(`check ${s.cfg.name} of ${group} could not run: ${(err as Error).message}`);
    } finally {
      s.running = false;
    }
    // A cron check keeps to its schedule; an interval check waits its interval after the run.
    this.schedule(group, s, s.cfg.cron ? at : Date.now());
  }

  /** Counts one result: grace, threshold, verdict changes and faults. */
  private record(group: string, s: CheckState, r: CheckResult): void {
    s.last = r;
    s.runs++;
    s.samples.push({ ms: r.durationMs, healthy: r.healthy, timedOut: r.timedOut });
    if (s.samples.length > SAMPLES_KEEP) s.samples.shift();
    const g = this.registry.group(group);
    const startedAt = Math.max(0, ...(g?.programs ?? []).map((p) => p.instanceStartedAt ?? 0));
    const what = r.timedOut ? `timed out after ${s.cfg.timeoutMs} ms (its process tree was killed)` : `exited with status ${r.status}`;
    if (r.healthy) {
      s.failures = 0;
      s.lastPassAt = r.startedAt;
      if (s.verdict !== true) this.verdict(group, s, true, `check ${s.cfg.name} passed`);
      return;
    }
    const passedSinceStart = s.lastPassAt !== null && s.lastPassAt >= startedAt;
    if (r.startedAt - startedAt < s.cfg.graceMs && !passedSinceStart) return; // still in the start grace period
    s.failures++;
    if (s.failures < s.cfg.threshold) return;
    s.failures = 0;
    this.verdict(group, s, false, `check ${s.cfg.name} ${what}, ${s.cfg.threshold} time(s) in a row`);
    this.onFault({ group, check: s.cfg.name, kind: r.timedOut ? 'hang' : 'unhealthy', observedAt: r.startedAt, reason: `check ${s.cfg.name} ${what}${r.output ? `: ${r.output.split('\n').at(-1)}` : ''}`, runs: s.runs, status: r.status });
  }

  private verdict(group: string, s: CheckState, healthy: boolean, reason: string): void {
    if (s.verdict === healthy) return;
    s.verdict = healthy;
    this.sink.emit({ type: 'health', group, pid: null, reason, data: { check: s.cfg.name, healthy } });
  }
}
