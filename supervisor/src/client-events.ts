// Requests from faces (CLI, TUI): each returns data or throws a one-line
// RequestError that tells the operator what to do.
import type { Registry } from './model/registry.js';
import type { GroupRecord, ProgramRecord } from './model/types.js';
import type { ClientRequest } from './protocol/messages.js';
import type { PsCluster, StatusView } from './protocol/views.js';
import type { GroupRequest, PolicyStatus } from './protocol/group-requests.js';
import { pace, relaunchPlan } from './groups/launch-plan.js';
import { groupViews } from './views.js';
import type { Lifecycle } from './lifecycle/machine.js';
import { FINAL } from './lifecycle/phases.js';
import { diag } from './diag.js';
import { startDetachedRunner, withoutDurunVars } from './detached-runner.js';
import { commandOf, type LaunchSpecs } from './groups/launch-specs.js';

export class RequestError extends Error {}

/** How long `stop` lets a program finish after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 10_000;

const active = (p: ProgramRecord) => !FINAL.has(p.phase);
/** How long `restart` waits for a re-attaching runner before it takes the runner for gone. */
const REATTACH_WAIT_MS = 3000;

export class ClientEvents {
  /** Checks waiting for a group's programs to settle, by group: a settle looks at its group's waiters only (stop-all waits on every group at once). */
  private readonly waiters = new Map<string, Set<() => boolean>>();
  /** What ad-hoc programs were launched with (--env, --cwd, --user, --limit), wired by main.ts: a relaunch keeps it. */
  launchSpecs: LaunchSpecs | null = null;
  /** Policy groups (issue 4: up, down, reload, notify, service), wired by main.ts. */
  groupRequests: { handle(req: GroupRequest): Promise<unknown>; status(): PolicyStatus } | null = null;
  /** Cluster mode: this node and its roles, added to every ps answer. */
  clusterView: () => PsCluster | null = () => null;

  constructor(private readonly registry: Registry, private readonly lifecycle: Lifecycle, private readonly home: string, private readonly startedAt: number, private readonly shutdown: (stopAll: boolean) => Promise<void>) {
    registry.onSettle = (group) => {
      const lists = group ? [this.waiters.get(group.name)] : [...this.waiters.values()];
      for (const list of lists) for (const done of list ?? []) done();
    };
    lifecycle.relaunch = (group, p) => this.relaunch(group, p);
  }

  async handle(req: ClientRequest): Promise<unknown> {
    switch (req.op) {
      case 'ps': {
        const groups = req.group ? [this.needGroup(req.group)] : [...this.registry.groups.values()];
        const cluster = this.clusterView();
        return { groups: groupViews(this.registry, groups, req.history ?? false), ...(cluster ? { cluster } : {}) };
      }
      case 'stop':
        return this.stop(this.needGroup(req.group));
      case 'restart':
        return this.restart(this.needGroup(req.group));
      case 'logs-info': {
        const g = this.needGroup(req.group);
        return { group: g.name, programs: g.programs.map((p) => ({ id: p.id, logPath: p.logPath, detached: p.detached, argv: p.argv })) };
      }
      case 'shutdown':
        setImmediate(() => void this.shutdown(req.stopAll));
        return { stopping: req.stopAll };
      case 'checkpoint': case 'checkpoints': case 'restore': case 'migrate':
        throw new RequestError('checkpoints are not enabled in this supervisor');
      case 'health': case 'events': case 'stats': case 'metrics': case 'advise':
        throw new RequestError('health checks, events and statistics are not enabled in this supervisor');
      case 'status':
        return {
          pid: process.pid, home: this.home, startedAt: new Date(this.startedAt).toISOString(),
          groups: this.registry.groups.size, version: '0.1.0',
          ...(this.groupRequests ? { policy: this.groupRequests.status() } : {}),
        } satisfies StatusView;
      case 'up': case 'down': case 'reload': case 'notify': case 'service':
        if (!this.groupRequests) throw new RequestError('policy groups are not enabled in this supervisor');
        return this.groupRequests.handle(req);
    }
  }

  /**
   * Stops every active program of a group and resolves when all have ended
   * (at once for one waiting out a backoff); kill: SIGKILL at once, for a
   * move whose programs are parked in their checkpoint and must not run on.
   */
  async stop(group: GroupRecord, kill = false): Promise<{ group: string; stopped: number }> {
    const targets = group.programs.filter(active);
    for (const p of targets) this.lifecycle.feed(group, p, kill ? { kind: 'stop', signal: 9, graceMs: 0 } : { kind: 'stop', signal: 15, graceMs: STOP_GRACE_MS });
    const unattendedGone = (p: ProgramRecord) => !this.registry.runner(group.name, p.id) && this.registry.liveProcessesOf(group, p.id).length === 0;
    await this.until(group, () => targets.every((p) => !active(p) || unattendedGone(p)), STOP_GRACE_MS + 5000,
      `group ${group.name} did not stop within ${(STOP_GRACE_MS + 5000) / 1000} s`);
    for (const p of targets) if (active(p)) this.lifecycle.feed(group, p, { kind: 'tree-gone' });
    return { group: group.name, stopped: targets.length };
  }

  /**
   * Restarts the group: running programs through their runners (at once
   * when one waits out a backoff), finished ones with a new detached
   * runner. A program whose runner is re-attaching is waited for, never
   * started a second time beside it.
   */
  async restart(group: GroupRecord): Promise<{ group: string; restarted: number }> {
    // Relaunched programs come back in their recorded launch order and spacing (issue 4).
    const plan = relaunchPlan(group.programs, group.history);
    let lastLaunch = 0;
    group.failedReason = null;
    for (const { program: p, delayMs } of plan) {
      if (active(p) && !this.registry.runner(group.name, p.id) && this.lifecycle.provenRunner(p)) {
        await this.settled(group, () => this.registry.runner(group.name, p.id) !== undefined || !this.lifecycle.provenRunner(p), REATTACH_WAIT_MS);
      }
      if (active(p) && this.registry.runner(group.name, p.id)) {
        const asked = Date.now();
        this.lifecycle.feed(group, p, { kind: 'restart', signal: 15, graceMs: STOP_GRACE_MS });
        await this.until(group, () => p.phase === 'running' && (p.instanceStartedAt ?? 0) >= asked, STOP_GRACE_MS + 5000, `program ${p.id} of ${group.name} did not come back`);
        continue;
      }
      if (active(p) && this.lifecycle.provenRunner(p)) {
        throw new RequestError(`program ${p.id} of ${group.name}: its runner (pid ${p.runnerPid}) is alive but has not re-attached; try again in a moment`);
      }
      if (active(p)) this.lifecycle.feed(group, p, { kind: 'runner-dead' }); // ends what is left; may relaunch by itself
      await pace(lastLaunch, delayMs);
      lastLaunch = Date.now();
      if (group.programs.includes(p)) this.lifecycle.feed(group, p, { kind: 'restart', signal: 15, graceMs: STOP_GRACE_MS });
      await this.lifecycle.relaunched(p).catch((err: Error) => {
        throw new RequestError(`relaunching ${group.name}: ${err.message}`);
      });
    }
    this.registry.settle(group);
    return { group: group.name, restarted: plan.length };
  }

  /** Starts a program afresh under a new detached runner (the lifecycle's relaunch), with the flags it was launched with. */
  private async relaunch(group: GroupRecord, p: ProgramRecord): Promise<void> {
    const runArgs = this.launchSpecs?.runArgs(group.name, p.id) ?? [];
    try {
      await startDetachedRunner({
        group: group.name, restart: p.restart, options: p.options, argv: commandOf(p.argv, runArgs), cwd: p.cwd, extra: runArgs,
        env: { ...withoutDurunVars(process.env), DURUN_HOME: this.home },
      });
    } catch (err) {
      diag(`relaunch of ${group.name} failed: ${(err as Error).message}`);
      throw err;
    }
  }

  private needGroup(name: string): GroupRecord {
    const g = this.registry.group(name);
    if (!g) {
      const known = [...this.registry.groups.keys()];
      throw new RequestError(`unknown group "${name}"; ${known.length ? `known groups: ${known.join(', ')}` : 'no groups yet (start one with: durun -- CMD)'}`);
    }
    return g;
  }

  private until(group: GroupRecord, done: () => boolean, timeoutMs: number, failure: string): Promise<void> {
    return this.settled(group, done, timeoutMs).then((ok) => {
      if (!ok) throw new RequestError(failure);
    });
  }

  /** Resolves true once done() holds (checked whenever the group settles, and on each /proc scan), false after timeoutMs. */
  private settled(group: GroupRecord, done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const list = this.waiters.get(group.name) ?? new Set();
      this.waiters.set(group.name, list);
      const leave = (ok: boolean) => {
        list.delete(check);
        if (list.size === 0 && this.waiters.get(group.name) === list) this.waiters.delete(group.name);
        resolve(ok);
      };
      const timer = setTimeout(() => leave(false), timeoutMs);
      const check = () => {
        if (!done()) return false;
        clearTimeout(timer);
        leave(true);
        return true;
      };
      list.add(check);
    });
  }
}
