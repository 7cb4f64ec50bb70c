// Answers the everyday-operation requests (protocol/ops-requests.ts): rm,
// start, signal, save, resurrect.
import path from 'node:path';
import type { Registry } from '../model/registry.js';
import type { GroupRecord, ProgramRecord, RestartOptions } from '../model/types.js';
import type { RestartPolicy } from '../protocol/messages.js';
import type { OpsRequest, RemoveResult, ResurrectResult, SaveResult, SignalResult, StartResult } from '../protocol/ops-requests.js';
import { readJson, writeJsonAtomic } from '../persist.js';
import { startDetachedRunner, withoutDurunVars } from '../detached-runner.js';
import { pace, relaunchPlan } from './launch-plan.js';
import { commandOf, type LaunchSpecs } from './launch-specs.js';
import { programActive, programRunning, removePrograms } from './remove.js';

/** How long `rm` and `start` wait for the runners of a finished group to go (they exit right after the end). */
const RUNNERS_GONE_MS = 5000;

/** A refusal the operator can act on (one line). */
export class OpsError extends Error {}

export interface OpsDeps {
  registry: Registry;
  home: string;
  specs: LaunchSpecs;
  /** Stops every program of a group and resolves when all have ended (`durun stop`). */
  stop(group: GroupRecord): Promise<unknown>;
  /** The policy file that defines a group, or null for an ad-hoc group. */
  policySource(name: string): string | null;
  /** Brings up a policy group in dependency order (`durun up GROUP`). */
  up(name: string): Promise<unknown>;
}

/** One program as `durun save` keeps it. */
interface SavedProgram { argv: string[]; cwd: string; restart: RestartPolicy; options: RestartOptions; runArgs: string[] }
interface SavedFile { version: 1; savedAt: string; groups: Array<{ group: string; programs: SavedProgram[] }> }

/** The one wording of "no such group", listing the known ones. */
export function unknownGroup(registry: Registry, name: string): OpsError {
  const known = [...registry.groups.keys()];
  return new OpsError(`unknown group "${name}"; ${known.length ? `known groups: ${known.join(', ')}` : 'no groups yet (start one with: durun -- CMD)'}`);
}

export class OpsService {
  constructor(private readonly d: OpsDeps) {}

  private get savedFile(): string {
    return path.join(this.d.home, 'saved.json');
  }

  /** Async throughout, so a refusal is a rejected answer, never an exception in the server. */
  async handle(req: OpsRequest): Promise<unknown> {
    switch (req.op) {
      case 'rm': return this.remove(req.group, req.force === true);
      case 'start': return this.start(req.group);
      case 'signal': return this.signal(req.group, req.signal, req.all === true);
      case 'save': return this.save();
      case 'resurrect': return this.resurrect();
    }
  }

  private group(name: string): GroupRecord {
    const group = this.d.registry.group(name);
    if (!group) throw unknownGroup(this.d.registry, name);
    return group;
  }

  private running(group: GroupRecord): ProgramRecord[] {
    return group.programs.filter((p) => programRunning(this.d.registry, group, p));
  }

  /** Waits (bounded) until no runner of the group is attached and nothing of it is alive. */
  private async settled(group: GroupRecord): Promise<void> {
    for (const deadline = Date.now() + RUNNERS_GONE_MS; group.programs.some((p) => programActive(this.d.registry, group, p));) {
      if (Date.now() > deadline) throw new OpsError(`group ${group.name} still has a program running or a runner attached ${RUNNERS_GONE_MS / 1000} s after its end; nothing was changed`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async remove(name: string, force: boolean): Promise<RemoveResult> {
    const group = this.group(name);
    const source = this.d.policySource(name);
    if (source) throw new OpsError(`group ${name} is defined in ${source}: take it out of the policy there and run durun reload (durun down ${name} stops it)`);
    let stopped = false;
    if (this.running(group).length) {
      if (!force) throw new OpsError(`group ${name} is running; stop it first (durun stop ${name}) or remove it with durun rm --force ${name}`);
      await this.d.stop(group);
      stopped = true;
    }
    await this.settled(group);
    const programs = group.programs.length;
    const { logFiles } = removePrograms(this.d.registry, group, [...group.programs]);
    return { group: name, programs, logFiles, stopped };
  }

  /** Starts a stopped or finished group: a policy group as `durun up GROUP`, an ad-hoc one by launching its programs again, detached, as they were launched. */
  private async start(name: string): Promise<StartResult> {
    if (this.d.policySource(name)) {
      await this.d.up(name);
      return { group: name, started: 1, policy: true };
    }
    const group = this.group(name);
    if (this.running(group).length) throw new OpsError(`group ${name} is already running; durun restart ${name} restarts it`);
    await this.settled(group);
    let last = 0;
    for (const { program: p, delayMs } of relaunchPlan(group.programs, group.history)) {
      await pace(last, delayMs);
      last = Date.now();
      const runArgs = this.d.specs.runArgs(name, p.id);
      await this.launch(name, { argv: commandOf(p.argv, runArgs), cwd: p.cwd, restart: p.restart, options: p.options, runArgs });
      // The relaunch is a new program of the group; the finished record it replaces goes only once it runs.
      removePrograms(this.d.registry, group, [p]);
    }
    return { group: name, started: group.programs.length, policy: false };
  }

  private launch(group: string, s: SavedProgram): Promise<unknown> {
    return startDetachedRunner({
      group, restart: s.restart, options: s.options, argv: s.argv, cwd: s.cwd, extra: s.runArgs,
      env: { ...withoutDurunVars(process.env), DURUN_HOME: this.d.home },
    }).catch((err: Error) => {
      throw new OpsError(`starting ${group} (${s.argv.join(' ')}): ${err.message}`);
    });
  }

  /** Has each running program's runner deliver the signal: to the program's root, or with all to its whole tree. */
  private signal(name: string, signal: number, all: boolean): SignalResult {
    const group = this.group(name);
    const targets = group.programs.filter((p) => p.state === 'running' && this.d.registry.runner(name, p.id));
    if (targets.length === 0) throw new OpsError(`group ${name} has no running program to signal (durun ps ${name})`);
    for (const p of targets) this.d.registry.runner(name, p.id)!.send({ op: 'signal', signal, all });
    return { group: name, signal, programs: targets.length, all };
  }

  /** Writes the running ad-hoc groups to saved.json (policy groups come back from their policy). */
  private save(): SaveResult {
    const groups = [...this.d.registry.groups.values()]
      .filter((g) => !this.d.policySource(g.name))
      .map((g) => ({
        group: g.name,
        programs: this.running(g).map((p): SavedProgram => {
          const runArgs = this.d.specs.runArgs(g.name, p.id);
          return { argv: commandOf(p.argv, runArgs), cwd: p.cwd, restart: p.restart, options: p.options, runArgs };
        }),
      }))
      .filter((g) => g.programs.length > 0);
    writeJsonAtomic(this.savedFile, { version: 1, savedAt: new Date().toISOString(), groups } satisfies SavedFile, true);
    return { file: this.savedFile, groups: groups.map((g) => g.group), programs: groups.reduce((n, g) => n + g.programs.length, 0) };
  }

  /** Starts every saved group that is not running now (after a reboot: all of them). */
  private async resurrect(): Promise<ResurrectResult> {
    const saved = readJson<SavedFile>(this.savedFile);
    if (!saved) return { file: this.savedFile, saved: false, started: [], alreadyRunning: [] };
    const started: string[] = [];
    const alreadyRunning: string[] = [];
    for (const g of saved.groups) {
      const now = this.d.registry.group(g.group);
      if (now && this.running(now).length) {
        alreadyRunning.push(g.group);
        continue;
      }
      for (const p of g.programs) await this.launch(g.group, p);
      started.push(g.group);
    }
    return { file: this.savedFile, saved: true, started, alreadyRunning };
  }
}
