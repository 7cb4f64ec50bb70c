// Ordered start and stop of policy groups. Start: every group begins as soon
// as all its dependencies are ready, so independent groups start in parallel;
// a failure rolls back what was started only for it and reports one error.
// Stop: the reverse; a group stops once every group depending on it has.
import type { GroupPolicy, Policy } from '../policy/types.js';
import { startOrder, withDependencies, withDependents } from '../policy/graph.js';

/** What the orchestration needs from the machinery; keeps this file free of processes. */
export interface GroupOps {
  /** Running already (before this `up`): counts as ready without being started again. */
  isUp(name: string): boolean;
  /** Launches the group and resolves when it is ready; rejects with one line on failure or timeout. */
  start(g: GroupPolicy): Promise<void>;
  stop(name: string): Promise<void>;
}

export interface UpReport { started: string[]; alreadyUp: string[]; failed: Array<{ group: string; error: string }>; blocked: string[]; rolledBack: string[] }

type Outcome = 'ready' | 'failed' | 'blocked';

/** Starts the named groups and their dependencies in dependency order. */
export async function upGroups(policy: Policy, names: Iterable<string>, ops: GroupOps): Promise<UpReport> {
  const wanted = withDependencies(policy.groups, names);
  const groups = policy.groups.filter((g) => wanted.has(g.name));
  const report: UpReport = { started: [], alreadyUp: [], failed: [], blocked: [], rolledBack: [] };
  const outcome = new Map<string, Promise<Outcome>>();
  for (const name of startOrder(groups)) {
    const g = groups.find((x) => x.name === name)!;
    outcome.set(name, (async (): Promise<Outcome> => {
      const deps = await Promise.all(g.depends.map((d) => outcome.get(d)!));
      if (deps.some((d) => d !== 'ready')) {
        report.blocked.push(name);
        return 'blocked';
      }
      if (ops.isUp(name)) {
        report.alreadyUp.push(name);
        return 'ready';
      }
      try {
        await ops.start(g);
        report.started.push(name);
        return 'ready';
      } catch (err) {
        report.failed.push({ group: name, error: (err as Error).message });
        return 'failed';
      }
    })());
  }
  await Promise.all(outcome.values());
  if (report.failed.length) await rollBack(policy, report, ops);
  return report;
}

/**
 * Undoes a failed start back to a known state: the failed groups are stopped,
 * and so is every group this `up` started only for them (a dependency of a
 * failed group that no group which did come up needs).
 */
async function rollBack(policy: Policy, report: UpReport, ops: GroupOps): Promise<void> {
  const failed = report.failed.map((f) => f.group);
  const forFailed = withDependencies(policy.groups, failed);
  const keepers = report.started.filter((n) => !forFailed.has(n)).concat(report.alreadyUp);
  const needed = withDependencies(policy.groups, keepers);
  const undo = new Set([...failed, ...report.started.filter((n) => forFailed.has(n) && !needed.has(n))]);
  await downGroups({ ...policy, groups: policy.groups.filter((g) => undo.has(g.name)) }, undo, ops).catch(() => undefined);
  report.rolledBack = [...undo];
  report.started = report.started.filter((n) => !undo.has(n));
}

/** Stops the named groups and every group depending on them, dependents first, independent ones in parallel. */
export async function downGroups(policy: Policy, names: Iterable<string>, ops: GroupOps): Promise<string[]> {
  const targets = withDependents(policy.groups, names);
  const known = new Set(policy.groups.map((g) => g.name));
  const inPolicy = policy.groups.filter((g) => targets.has(g.name));
  const errors: string[] = [];
  const done = new Map<string, Promise<void>>();
  const stopOne = async (name: string) => {
    try {
      await ops.stop(name);
    } catch (err) {
      errors.push((err as Error).message);
    }
  };
  for (const name of startOrder(inPolicy).reverse()) {
    const dependents = inPolicy.filter((g) => g.depends.includes(name)).map((g) => done.get(g.name)!);
    done.set(name, Promise.all(dependents).then(() => stopOne(name)));
  }
  // Groups outside the policy (started with `durun -- CMD`) have no order to respect.
  for (const name of targets) if (!known.has(name)) done.set(name, stopOne(name));
  await Promise.all(done.values());
  return errors;
}
