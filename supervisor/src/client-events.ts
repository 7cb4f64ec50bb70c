// Requests from faces (CLI, TUI): each returns data or throws a one-line
// RequestError that tells the operator what to do.
import type { Registry } from './model/registry.js';
import type { GroupRecord, ProgramRecord } from './model/types.js';
import type { ClientRequest } from './protocol/messages.js';
import type { StatusView } from './protocol/views.js';
import type { GroupRequest, PolicyStatus } from './protocol/group-requests.js';
import { pace, relaunchPlan } from './groups/launch-plan.js';
import { groupViews } from './views.js';
import { killInstance } from './program-control.js';
import { diag } from './diag.js';
import { startDetachedRunner, withoutDurunVars } from './detached-runner.js';

export class RequestError extends Error {}

/** How long `stop` lets a program finish after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 10_000;

const active = (p: ProgramRecord) => p.state === 'running' || p.state === 'restarting';

export class ClientEvents {
  private waiters: Array<() => boolean> = [];
  /** Policy groups (issue 4: up, down, reload, notify, service), wired by main.ts. */
  groupRequests: { handle(req: GroupRequest): Promise<unknown>; status(): PolicyStatus } | null = null;

  constructor(private readonly registry: Registry, private readonly home: string, private readonly startedAt: number, private readonly shutdown: (stopAll: boolean) => Promise<void>) {
    registry.onSettle = () => {
      this.waiters = this.waiters.filter((done) => !done());
    };
  }

  async handle(req: ClientRequest): Promise<unknown> {
    switch (req.op) {
      case 'ps': {
        const groups = req.group ? [this.needGroup(req.group)] : [...this.registry.groups.values()];
        return { groups: await groupViews(this.registry, groups, req.history ?? false) };
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
      case 'checkpoint': case 'checkpoints': case 'restore':
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

  /** Stops every active program of a group and resolves when all have ended. */
  async stop(group: GroupRecord): Promise<{ group: string; stopped: number }> {
    const targets = group.programs.filter(active);
    for (const p of targets) {
      p.stopRequested = true;
      killInstance(this.registry, group, p, 15, STOP_GRACE_MS);
    }
    this.registry.changed();
    await this.until(() => targets.every((p) => !active(p) || (!this.registry.runner(group.name, p.id) && this.registry.liveProcessesOf(group, p.id).length === 0)), STOP_GRACE_MS + 5000,
      `group ${group.name} did not stop within ${(STOP_GRACE_MS + 5000) / 1000} s`);
    for (const p of targets) if (active(p)) p.state = 'stopped';
    this.registry.settle(group);
    return { group: group.name, stopped: targets.length };
  }

  /** Restarts the group: running programs through their runners, finished ones with a new detached runner. */
  async restart(group: GroupRecord): Promise<{ group: string; restarted: number }> {
    // Relaunched programs come back in their recorded launch order and spacing (issue 4).
    const plan = relaunchPlan(group.programs, group.history);
    const programs = plan.map((step) => step.program);
    let lastLaunch = 0;
    group.failedReason = null;
    for (const { program: p, delayMs } of plan) {
      if (active(p) && this.registry.runner(group.name, p.id)) {
        const before = p.instance;
        p.restartRequested = true;
        p.stopRequested = false;
        killInstance(this.registry, group, p, 15, STOP_GRACE_MS);
        await this.until(() => p.instance > before && p.state === 'running' && p.rootPid !== null, STOP_GRACE_MS + 5000, `program ${p.id} of ${group.name} did not come back`);
      } else {
        if (active(p)) {
          p.stopRequested = true;
          killInstance(this.registry, group, p, 9, 0);
        }
        group.programs = group.programs.filter((q) => q !== p);
        await pace(lastLaunch, delayMs);
        lastLaunch = Date.now();
        await this.relaunch(group, p);
      }
    }
    this.registry.settle(group);
    return { group: group.name, restarted: programs.length };
  }

  private async relaunch(group: GroupRecord, p: ProgramRecord): Promise<void> {
    try {
      await startDetachedRunner({
        group: group.name, restart: p.restart, options: p.options, argv: p.argv, cwd: p.cwd,
        env: { ...withoutDurunVars(process.env), DURUN_HOME: this.home },
      });
    } catch (err) {
      diag(`relaunch of ${group.name} failed: ${(err as Error).message}`);
      throw new RequestError(`relaunching ${group.name}: ${(err as Error).message}`);
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

  private until(done: () => boolean, timeoutMs: number, failure: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new RequestError(failure));
      }, timeoutMs);
      const check = () => {
        if (!done()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      this.waiters.push(check);
    });
  }
}
