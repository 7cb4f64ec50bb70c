// The ladder's steps carried out on the process model: through the runners
// (restart-process), the `durun restart` path (restart-group), and `durun stop`
// followed by marking the group failed (ladder exhausted).
import type { Registry } from '../model/registry.js';
import type { GroupRecord } from '../model/types.js';
import { unavailable, type RecoveryActions } from './actions.js';
import type { RecoveryStep } from '../health/config.js';
import type { Lifecycle } from '../lifecycle/machine.js';

/** How long a restarted group has to run again before the step counts as failed. */
const STEP_TIMEOUT_MS = 30_000;

export interface GroupControl {
  restart(group: GroupRecord): Promise<unknown>;
  stop(group: GroupRecord): Promise<unknown>;
}

function waitUntil(done: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    const timer = setInterval(() => {
      if (done()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(timer);
        reject(new Error(`${what} within ${STEP_TIMEOUT_MS / 1000} s`));
      }
    }, 50);
  });
}

/** Restore from checkpoints (checkpoint/restore.ts), when the supervisor has it. */
export interface RestoreControl {
  restore(group: string): Promise<unknown>;
  unavailable(group: string): string | null;
}

/** Failover to another node (cluster/service.ts), when the supervisor is in cluster mode. */
export interface FailoverControl {
  failover(group: string): Promise<void>;
  unavailable(group: string): string | null;
}

export function supervisorActions(registry: Registry, lifecycle: Lifecycle, control: GroupControl, restorer?: RestoreControl, failover?: FailoverControl): RecoveryActions {
  const need = (name: string) => {
    const g = registry.group(name);
    if (!g) throw new Error(`group ${name} is not known to the supervisor`);
    return g;
  };
  return {
    async restartProcess(name) {
      const g = need(name);
      const targets = g.programs.filter((p) => p.state === 'running' && registry.runner(name, p.id));
      if (targets.length === 0) throw new Error('no running program with a connected runner to restart');
      const asked = Date.now();
      // Restarted by its runner, outside the restart rate limit; SIGKILL: a hung program may ignore SIGTERM.
      for (const p of targets) lifecycle.feed(g, p, { kind: 'restart', signal: 9, graceMs: 0 });
      await waitUntil(() => targets.every((p) => p.phase === 'running' && (p.instanceStartedAt ?? 0) >= asked), `group ${name} did not run again`);
    },
    async restartGroup(name) {
      await control.restart(need(name));
    },
    whyNot(step: RecoveryStep, name: string) {
      if (step === 'restore' && restorer) return restorer.unavailable(name);
      if (step === 'failover' && failover) return failover.unavailable(name);
      return unavailable(step);
    },
    async restore(name) {
      if (!restorer) throw new Error('restore from a checkpoint is not enabled in this supervisor');
      await restorer.restore(name);
    },
    async failover(name) {
      if (!failover) throw new Error(unavailable('failover') ?? 'failover is not available');
      await failover.failover(name);
    },
    async failGroup(name, reason) {
      const g = need(name);
      await control.stop(g);
      for (const p of g.programs) lifecycle.feed(g, p, { kind: 'fail', reason });
    },
  };
}
