// The policy in force and the groups it runs: `up`, `down`, `reload`, live
// edits (through watcher.ts), readiness notifications and init-script
// services. Operations run one at a time, so an edit never races an `up`.
import path from 'node:path';
import type { Registry } from '../model/registry.js';
import type { Lifecycle } from '../lifecycle/machine.js';
import type { GroupPolicy, Policy } from '../policy/types.js';
import { formatErrors } from '../policy/errors.js';
import { diffPolicies } from '../policy/diff.js';
import { withDependents } from '../policy/graph.js';
import { readJson, writeJsonAtomic } from '../persist.js';
import { diag } from '../diag.js';
import type { PolicyStatus, ServiceAction, ServiceResult, UpResult } from '../protocol/group-requests.js';
import { readPolicy, readSources } from './sources.js';
import { loadPolicy, type LoadResult } from '../policy/load.js';
import type { SourceText } from '../policy/types.js';
import { existsSync } from 'node:fs';
import { upGroups, downGroups, type GroupOps, type UpReport } from './orchestrate.js';
import { launchGroup } from './launch.js';
import { waitReady } from './readiness.js';
import { stopGroup } from './stop.js';
import { PolicyWatcher } from './watcher.js';
import { service } from './service.js';

/** Which groups live edits keep running: all of the policy, the autostart ones, or those named to `up`. */
type Mode = 'all' | 'autostart' | 'named';
interface Saved { sources: string[]; mode: Mode; named: string[] }

/** Cluster mode's hooks (supervisor/src/cluster/): where groups may start, and the shared policy repository. */
export interface PolicySharing {
  /** Of these groups, the ones this node may start now (placement and ownership). */
  placed(names: string[]): Promise<string[]>;
  /** A policy read from this node's files came into force: share its texts with every node. */
  publish(texts: SourceText[]): Promise<void>;
}

/** A failure to report to the operator as is (one block of text). */
export class GroupError extends Error {}

const isActive = (registry: Registry, name: string) =>
  registry.group(name)?.programs.some((p) => p.state === 'running' || p.state === 'restarting') ?? false;

export class PolicyManager {
  private policy: Policy | null = null;
  private saved: Saved = { sources: [], mode: 'named', named: [] };
  private lastError: { message: string; at: number } | null = null;
  private readonly notified = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly watcher = new PolicyWatcher(() => void this.reload().catch(() => undefined));
  private readonly listeners: Array<(p: Policy) => void> = [];
  /** Cluster mode: set by the cluster service; null on a single node. */
  sharing: PolicySharing | null = null;
  /** Cluster mode: the texts of the shared policy in force (by file name). */
  private shared: SourceText[] = [];

  constructor(private readonly registry: Registry, private readonly lifecycle: Lifecycle, private readonly home: string) {}

  private get stateFile(): string {
    return path.join(this.home, 'policy-state.json');
  }

  /** After a supervisor (re)start: load and watch the policy of the last `up`, starting nothing. */
  resume(): void {
    const saved = readJson<Saved>(this.stateFile);
    if (!saved || saved.sources.length === 0) return;
    this.saved = saved;
    const r = readPolicy(saved.sources);
    if (r.ok) this.setPolicy(r.policy);
    else this.recordError(formatErrors(r.errors));
    this.watcher.watch(saved.sources);
  }

  close(): Promise<void> {
    return this.watcher.close();
  }

  /** Called with every policy that comes into force (for the health monitor and checkpointing). */
  onPolicy(fn: (p: Policy) => void): void {
    this.listeners.push(fn);
    if (this.policy) fn(this.policy);
  }

  spec(name: string): GroupPolicy | null {
    return this.policy?.groups.find((g) => g.name === name) ?? null;
  }

  notify(group: string): void {
    this.notified.set(group, Date.now());
    diag(`${group}: ready notification`);
  }

  status(): PolicyStatus {
    return {
      sources: this.saved.sources, groups: this.policy?.groups.map((g) => g.name) ?? [],
      lastError: this.lastError && { message: this.lastError.message, at: new Date(this.lastError.at).toISOString() },
    };
  }

  up(sources: string[] | undefined, names: string[] | undefined, autostart: boolean): Promise<UpResult> {
    return this.serial(async () => {
      // Files named to `up -f` join the watched set; they never silently replace it (durun down still stops what was up).
      // A watched file the operator has deleted since leaves the set (said in the log) rather than failing this up.
      const still = this.saved.sources.filter((f) => existsSync(f) || (diag(`policy file ${f} is gone; no longer watched`), false));
      const srcs = sources?.length ? [...new Set([...still, ...sources])] : this.saved.sources;
      if (srcs.length === 0) throw new GroupError('no policy files: name them with durun up -f FILE|DIR');
      const { r, texts } = this.read(srcs);
      if (!r.ok) throw new GroupError(`policy not loaded, nothing started:\n${formatErrors(r.errors)}`);
      const policy = r.policy;
      const unknown = (names ?? []).filter((n) => !policy.groups.some((g) => g.name === n));
      if (unknown.length) throw new GroupError(`unknown group ${unknown.join(', ')}; the policy defines ${policy.groups.map((g) => g.name).join(', ')}`);
      const mode: Mode = names?.length ? 'named' : autostart ? 'autostart' : 'all';
      const named = mode === 'named' ? [...new Set([...(this.saved.mode === 'named' ? this.saved.named : []), ...names!])] : [];
      this.saved = { sources: srcs, mode, named };
      writeJsonAtomic(this.stateFile, this.saved, true);
      this.setPolicy(policy);
      this.lastError = null;
      this.watcher.watch(srcs);
      await this.share(texts);
      const given = (g: { file: string }) => !sources?.length || sources.some((f) => g.file === f || g.file.startsWith(`${f}/`));
      const targets = names?.length ? names : policy.groups.filter((g) => given(g) && (!autostart || g.autostart)).map((g) => g.name);
      const report = await upGroups(policy, await this.placed(targets), this.ops());
      if (report.failed.length) throw new GroupError(describeFailure(report));
      return { started: report.started, alreadyUp: report.alreadyUp, files: policy.files };
    });
  }

  down(names: string[] | undefined): Promise<{ stopped: string[] }> {
    return this.serial(async () => {
      const policy = this.policy ?? { groups: [], files: [], supervisor: { metricsListen: null, hooks: [] } };
      const targets = names?.length ? names : policy.groups.map((g) => g.name);
      const unknown = targets.filter((n) => !policy.groups.some((g) => g.name === n) && !this.registry.group(n));
      if (unknown.length) throw new GroupError(`unknown group ${unknown.join(', ')}; durun ps lists the groups`);
      const stopping = [...withDependents(policy.groups, targets)].filter((n) => isActive(this.registry, n));
      if (this.saved.mode === 'named') this.saved.named = this.saved.named.filter((n) => !stopping.includes(n));
      writeJsonAtomic(this.stateFile, this.saved, true);
      const errors = await downGroups(policy, targets, this.ops());
      if (errors.length) throw new GroupError(errors.join('\n'));
      return { stopped: stopping };
    });
  }

  /**
   * `shutdown --stop-all`: every policy group that runs, dependents first and
   * independent ones at once (downGroups), each with its own stop command and
   * timeout. What the last `up` asked for stays saved: the next supervisor
   * resumes the same policy. Resolves with the errors, one line each.
   */
  stopAll(): Promise<string[]> {
    return this.serial(async () => {
      const policy = this.policy;
      if (!policy) return [];
      return downGroups(policy, policy.groups.map((g) => g.name).filter((n) => isActive(this.registry, n)), this.ops());
    });
  }

  /** Re-reads the policy files; applies the change, or records why not and keeps the old policy. */
  reload(): Promise<{ added: string[]; removed: string[]; restarted: string[]; updated: string[] }> {
    return this.serial(async () => {
      if (this.saved.sources.length === 0) throw new GroupError('no policy loaded yet: start with durun up -f FILE|DIR');
      const { r, texts } = this.read(this.saved.sources);
      if (!r.ok) {
        const text = formatErrors(r.errors);
        this.recordError(text);
        throw new GroupError(`policy change rejected, the previous policy stays in force:\n${text}`);
      }
      this.lastError = null;
      const result = await this.apply(r.policy, this.saved.mode);
      await this.share(texts);
      return result;
    });
  }

  /** Cluster mode: the shared policy changed in etcd (on any node); applied like a reload, autostart groups started where placed. */
  applyShared(texts: SourceText[]): Promise<{ added: string[]; removed: string[]; restarted: string[]; updated: string[] } | null> {
    return this.serial(async () => {
      if (JSON.stringify(texts) === JSON.stringify(this.shared)) return null;
      const r = loadPolicy(texts);
      if (!r.ok) {
        this.recordError(formatErrors(r.errors));
        throw new GroupError(`shared policy rejected, the previous policy stays in force:\n${formatErrors(r.errors)}`);
      }
      this.shared = texts;
      this.lastError = null;
      return this.apply(r.policy, 'autostart');
    });
  }

  /** Cluster mode: starts one group of the policy in force (this node took it over without a checkpoint). */
  startPlaced(name: string): Promise<void> {
    return this.serial(async () => {
      if (!this.policy || !this.spec(name)) throw new GroupError(`unknown group ${name}: not in the policy in force`);
      const report = await upGroups(this.policy, [name], this.ops());
      if (report.failed.length) throw new GroupError(describeFailure(report));
    });
  }

  /** The policy of these files; in cluster mode laid over the shared policy's other files. */
  private read(srcs: string[]): { r: LoadResult; texts: SourceText[] } {
    if (!this.sharing) return { r: readPolicy(srcs), texts: [] };
    const { texts, errors } = readSources(srcs);
    if (errors.length) return { r: { ok: false, errors }, texts: [] };
    const merged = new Map(this.shared.map((t) => [t.file, t]));
    for (const t of texts) merged.set(t.file, t);
    const all = [...merged.values()];
    return { r: loadPolicy(all), texts: all };
  }

  private async share(texts: SourceText[]): Promise<void> {
    if (!this.sharing || JSON.stringify(texts) === JSON.stringify(this.shared)) return;
    this.shared = texts;
    await this.sharing.publish(texts);
  }

  private placed(names: string[]): Promise<string[]> {
    return this.sharing ? this.sharing.placed(names) : Promise.resolve(names);
  }

  /** Applies a valid new policy: removed groups stop, changed commands restart in order, new groups start. */
  private async apply(next: Policy, mode: Mode): Promise<{ added: string[]; removed: string[]; restarted: string[]; updated: string[] }> {
    const before = this.policy;
    const diff = diffPolicies(before, next);
    const running = (n: string) => isActive(this.registry, n);
    const restart = await this.placed([...withDependents(next.groups, diff.restart)].filter(running));
    diag(`policy change: added [${diff.added}] removed [${diff.removed}] restart [${restart}] updated [${diff.updated}]`);
    if (before) {
      // Stop with the settings the groups were started with, dependents first.
      await downGroups(before, diff.removed.filter(running), this.ops());
      await downGroups(before, restart, this.ops());
    }
    this.setPolicy(next);
    const wanted = await this.placed(diff.added.filter((n) => mode === 'all' || (mode === 'autostart' && this.spec(n)!.autostart)));
    const report = await upGroups(next, [...restart, ...wanted], this.ops());
    if (report.failed.length) this.recordError(describeFailure(report));
    return { added: diff.added, removed: diff.removed, restarted: restart, updated: diff.updated };
  }

  /** `durun service SCRIPT ACTION`, in turn with every other operation. */
  service(script: string, action: ServiceAction): Promise<ServiceResult> {
    const ops = this.ops();
    return this.serial(() => service({
      registry: this.registry,
      policyFor: (s) => this.policy?.groups.find((g) => g.initScript === s) ?? null,
      start: (g) => ops.start(g),
      stop: (g) => stopGroup(this.registry, this.lifecycle, g.name, g, this.home),
    }, script, action));
  }

  /** The machinery behind orchestrate.ts. */
  private ops(): GroupOps {
    return {
      isUp: (name) => isActive(this.registry, name),
      start: async (g) => {
        const startedAt = Date.now();
        diag(`${g.name}: starting (ready = ${g.ready.kind})`);
        const launched = await launchGroup(g, this.home);
        await waitReady(g, launched, startedAt, { registry: this.registry, home: this.home, notifiedAt: (n) => this.notified.get(n) });
        diag(`${g.name}: ready`);
      },
      stop: (name) => stopGroup(this.registry, this.lifecycle, name, this.spec(name), this.home),
    };
  }

  private setPolicy(p: Policy): void {
    this.policy = p;
    for (const fn of this.listeners) fn(p);
  }

  private recordError(message: string): void {
    this.lastError = { message, at: Date.now() };
    diag(`policy: ${message}`);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** One error for a failed `up`: what failed, what was rolled back, what did not start. */
export function describeFailure(r: UpReport): string {
  const lines = r.failed.map((f) => f.error);
  if (r.rolledBack.length) lines.push(`rolled back (stopped): ${r.rolledBack.join(', ')}`);
  if (r.blocked.length) lines.push(`not started (a dependency failed): ${r.blocked.join(', ')}`);
  const up = [...r.alreadyUp, ...r.started];
  if (up.length) lines.push(`still running: ${up.join(', ')}`);
  return lines.join('\n');
}
