// Removing finished groups and programs from the model: `durun rm GROUP`, and
// the retention sweep that drops finished foreground programs on its own
// (docs/operation.md, "Removing groups"). Only what has ended goes: a program
// with a live process or a connected runner is never touched.
import { existsSync, unlinkSync } from 'node:fs';
import type { Registry } from '../model/registry.js';
import type { GroupRecord, ProgramRecord } from '../model/types.js';

/** A program that is running or may come back on its own (restarting), or still has a live process. */
export function programRunning(registry: Registry, group: GroupRecord, p: ProgramRecord): boolean {
  return p.state === 'running' || p.state === 'restarting' || registry.liveProcessesOf(group, p.id).length > 0;
}

/** Running, or finished but its runner has not gone yet (it exits right after its `finish`). */
export function programActive(registry: Registry, group: GroupRecord, p: ProgramRecord): boolean {
  return programRunning(registry, group, p) || registry.runner(group.name, p.id) !== undefined;
}

/** When a finished program ended: its last process end, else its last start (ms). */
export function programEndedAt(group: GroupRecord, p: ProgramRecord): number {
  let last = p.instanceStartedAt ?? 0;
  for (const r of group.processes) if (r.program === p.id && r.endedAt !== null && r.endedAt > last) last = r.endedAt;
  return last;
}

/** The log file of a program and its rotations that exist. */
function logFiles(p: ProgramRecord): string[] {
  return [p.logPath, ...[1, 2, 3].map((n) => `${p.logPath}.${n}`)].filter((f) => f && existsSync(f));
}

/** Deletes the programs' log files; returns how many went. */
function removeLogs(programs: ProgramRecord[]): number {
  let n = 0;
  for (const f of programs.flatMap(logFiles)) {
    unlinkSync(f);
    n++;
  }
  return n;
}

/**
 * Takes finished programs out of a group (and their process records), and the
 * group itself once it has none left. Log files go too: a later group of the
 * same name numbers its programs from 1 again and must not append to them.
 */
export function removePrograms(registry: Registry, group: GroupRecord, programs: ProgramRecord[]): { logFiles: number; groupRemoved: boolean } {
  const ids = new Set(programs.map((p) => p.id));
  const logs = removeLogs(programs);
  group.programs = group.programs.filter((p) => !ids.has(p.id));
  group.processes = group.processes.filter((r) => !ids.has(r.program));
  const groupRemoved = group.programs.length === 0;
  if (groupRemoved) {
    registry.groups.delete(group.name);
    registry.events.emit({ type: 'removed', group: group.name, pid: null, reason: `group ${group.name} removed` });
  } else {
    registry.settle(group);
  }
  registry.logRemoval(group.name, [...ids]);
  return { logFiles: logs, groupRemoved };
}

/**
 * The retention sweep: finished foreground programs (their exit status went to
 * the operator's terminal) that ended more than retentionMs ago leave the
 * model, and a group left empty goes with them. Groups the policy defines and
 * detached programs stay until `durun rm`.
 */
export function sweepFinished(registry: Registry, now: number, retentionMs: number, isPolicyGroup: (name: string) => boolean): string[] {
  const removed: string[] = [];
  for (const group of [...registry.groups.values()]) {
    if (isPolicyGroup(group.name)) continue;
    const done = group.programs.filter((p) => !p.detached && !programActive(registry, group, p) && now - programEndedAt(group, p) >= retentionMs);
    if (done.length === 0) continue;
    if (removePrograms(registry, group, done).groupRemoved) removed.push(group.name);
  }
  return removed;
}
