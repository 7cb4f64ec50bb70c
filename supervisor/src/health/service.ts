// Wires issue 5's parts into the supervisor: the journal and bus, on_event
// hooks, the health monitor, the recovery engine, the metrics listener, and
// the client requests that read them (health, events, stats, metrics, advise).
import path from 'node:path';
import type http from 'node:http';
import type { Registry } from '../model/registry.js';
import type { Policy } from '../policy/types.js';
import type { HealthRequest, HealthAnswer, EventsAnswer, AdviceAnswer, ChecksAnswer } from '../protocol/health-requests.js';
import { eventMatches } from '../protocol/events.js';
import { JOURNAL_MAX_BYTES, Journal, readJournal } from '../events/journal.js';
import { EventBus } from '../events/bus.js';
import { HookRunner } from '../events/hooks.js';
import { HealthMonitor } from './monitor.js';
import { emptyPolicy, groupPolicy, type HealthPolicy } from './config.js';
import { RecoveryEngine } from '../recovery/engine.js';
import type { RecoveryActions } from '../recovery/actions.js';
import { blackBox } from '../recovery/blackbox.js';
import { advise } from '../recovery/advise.js';
import { availability, type StatsReport } from '../stats/availability.js';
import { StatsHistory } from '../stats/history.js';
import { toPrometheus } from '../stats/prometheus.js';
import { UsageCounters } from '../stats/program-usage.js';
import { serveMetrics } from '../stats/http.js';
import { diag } from '../diag.js';

/** A client connection as the service needs it: a way to push, and to learn that it closed. */
export interface Connection { send(msg: Record<string, unknown>): void; onClose(fn: () => void): void }

export class RequestFailed extends Error {}

/** Group states whose checks `durun health` runs (a failed group's checks report its failure). */
const CHECKED_STATES: ReadonlySet<string> = new Set(['running', 'restarting', 'failed']);

/** Converts the issue-4 policy into the health view of it (depends feeds the correlator). */
export function healthPolicyOf(p: Policy): HealthPolicy {
  return { groups: new Map(p.groups.map((g) => [g.name, { ...g.health, dependsOn: g.depends }])), supervisor: p.supervisor };
}

export class HealthService {
  readonly bus: EventBus;
  private readonly monitor: HealthMonitor;
  private readonly engine: RecoveryEngine;
  private policy: HealthPolicy = emptyPolicy();
  private metrics: http.Server | null = null;
  private metricsAt = '';
  private readonly usage = new UsageCounters();
  private readonly history: StatsHistory;

  constructor(home: string, private readonly registry: Registry, actions: RecoveryActions) {
    const journal = new Journal(path.join(home, 'events.jsonl'), Number(process.env.DURUN_EVENTS_MAX_BYTES) || JOURNAL_MAX_BYTES);
    this.history = new StatsHistory(readJournal(journal.file));
    journal.onRotate = (first) => this.history.dropBefore(first);
    this.bus = new EventBus(journal);
    this.bus.follow((e) => this.history.add(e));
    this.bus.enrich = (e) => (e.type === 'fault' && e.group && !e.data?.blackbox ? { ...e, data: { ...e.data, blackbox: this.blackBoxOf(e.group) } } : e);
    const hooks = new HookRunner((e) => [...(e.group ? groupPolicy(this.policy, e.group).hooks : []), ...this.policy.supervisor.hooks], this.bus, home);
    this.engine = new RecoveryEngine(registry, this.bus, actions, () => this.policy, path.join(home, 'recovery.json'));
    this.bus.follow((e) => hooks.run(e));
    this.bus.follow((e) => this.engine.observe(e));
    const env = { ...process.env, DURUN_HOME: home };
    this.monitor = new HealthMonitor(registry, this.bus, (f) => this.engine.fault({ ...f, data: { check: f.check, runs: f.runs, status: f.status } }), env);
  }

  /** A policy came into force: checks, recovery and hooks follow it; a change of a group's health policy is an event. */
  setPolicy(p: Policy): void {
    const next = healthPolicyOf(p);
    for (const [name, cfg] of next.groups) {
      const before = this.policy.groups.get(name);
      if (JSON.stringify(before) !== JSON.stringify(cfg)) {
        this.bus.emit({ type: 'policy-change', group: name, pid: null, reason: before ? 'health or recovery policy changed' : 'health and recovery policy loaded', data: { checks: cfg.checks.map((c) => c.name), recovery: cfg.recovery.steps } });
      }
    }
    this.policy = next;
    this.monitor.apply(next);
    void this.listen(next);
  }

  close(): void {
    this.monitor.stop();
    this.metrics?.close();
  }

  async handle(req: HealthRequest, conn: Connection): Promise<unknown> {
    switch (req.op) {
      case 'health': {
        if (req.cached) return { checks: this.monitor.lastResults(req.group) } satisfies ChecksAnswer;
        const named = req.group ? [req.group] : this.monitor.groupsWithChecks();
        if (req.group && !this.monitor.groupsWithChecks().includes(req.group)) {
          throw new RequestFailed(`group "${req.group}" has no health checks; add check.NAME.command (or .tcp, .http) to its [group ${req.group}] section`);
        }
        // A group the operator stopped (or never started) is not checked: its checks would only fail.
        const stateOf = (g: string) => this.registry.group(g)?.state ?? 'not started';
        const skipped = named.filter((g) => !CHECKED_STATES.has(stateOf(g))).map((g) => ({ group: g, state: stateOf(g) }));
        const checks = await this.monitor.runOnce(named.filter((g) => CHECKED_STATES.has(stateOf(g))));
        return { checks: checks.map(({ startedAt: _s, ...v }) => v), skipped } satisfies HealthAnswer;
      }
      case 'events': {
        const filter = { group: req.group, type: req.type, since: req.since };
        const events = readJournal(this.bus.journalFile).filter((e) => eventMatches(e, filter));
        if (req.follow) {
          const off = this.bus.follow((e) => {
            if (eventMatches(e, filter)) conn.send({ op: 'event', id: req.id, event: e });
          });
          conn.onClose(off);
        }
        return { events: req.last === undefined ? events : events.slice(-req.last) } satisfies EventsAnswer;
      }
      case 'stats':
        return this.stats(req.windowMs, req.group);
      case 'metrics':
        return { text: this.metricsText(req.windowMs) };
      case 'advise': {
        if (!this.registry.group(req.group) && !this.policy.groups.has(req.group)) throw new RequestFailed(`unknown group "${req.group}" (durun ps lists them)`);
        const r = advise(req.group, [...this.monitor.samples(req.group).values()], readJournal(this.bus.journalFile), Date.now());
        return { group: req.group, ...r } satisfies AdviceAnswer;
      }
    }
  }

  private stats(windowMs?: number, group?: string): StatsReport {
    const events = this.history.all();
    const now = Date.now();
    const from = windowMs ? now - windowMs : this.history.firstTime() ?? now;
    const r = availability(events, from, now);
    return group ? { ...r, groups: r.groups.filter((g) => g.group === group) } : r;
  }

  /** The Prometheus text: counters over the whole journal, ratio gauges over windowMs (default: the whole journal). */
  private metricsText(windowMs?: number): string {
    const events = this.history.all();
    const now = Date.now();
    const first = this.history.firstTime() ?? now;
    const all = availability(events, first, now);
    const restarts = new Map<string, number>();
    for (const e of events) if (e.type === 'restart' && e.group) restarts.set(e.group, (restarts.get(e.group) ?? 0) + 1);
    const cpu = process.cpuUsage();
    return toPrometheus({
      all, window: windowMs ? availability(events, now - windowMs, now) : all, restarts,
      groups: [...this.registry.groups.values()].map((g) => ({ name: g.name, state: g.state })),
      programs: this.usage.sample(this.registry),
      supervisor: { cpuSeconds: (cpu.user + cpu.system) / 1e6, rssBytes: process.memoryUsage.rss(), startTimeSeconds: Math.round((Date.now() - process.uptime() * 1000) / 1000) },
    });
  }

  private blackBoxOf(group: string): ReturnType<typeof blackBox> {
    const logs = (this.registry.group(group)?.programs ?? []).filter((p) => p.detached).map((p) => p.logPath);
    return blackBox(logs, this.bus.recent(group, 20));
  }

  private async listen(p: HealthPolicy): Promise<void> {
    const want = p.supervisor.metricsListen;
    const at = want ? `${want.host}:${want.port}` : '';
    if (at === this.metricsAt) return;
    this.metrics?.close();
    this.metrics = null;
    this.metricsAt = at;
    if (!want) return;
    try {
      this.metrics = await serveMetrics(want.host, want.port, () => this.metricsText());
      diag(`metrics served on http://${at}/metrics`);
    } catch (err) {
      this.metricsAt = '';
      diag(`${(err as Error).message}; metrics are still available with durun metrics`);
    }
  }
}

