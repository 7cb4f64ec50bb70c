// Programs to start afresh under new runners (their runners died, or a
// finished group is restarted). Those of one group that come within a
// moment of each other (a node-crash-like loss kills every runner at once)
// start together, in the group's recorded launch order and spacing.
import type { GroupRecord, ProgramRecord } from '../model/types.js';
import { pace, relaunchPlan } from '../groups/launch-plan.js';
import { diag } from '../diag.js';

/** How long the first program of a group waits for others to join its relaunch. */
const GATHER_MS = 100;

export type StartProgram = (group: GroupRecord, program: ProgramRecord) => Promise<void>;

interface Batch { programs: ProgramRecord[]; done: Map<ProgramRecord, { resolve: () => void; reject: (e: Error) => void }> }

export class RelaunchQueue {
  private readonly batches = new Map<GroupRecord, Batch>();

  constructor(private readonly start: () => StartProgram) {}

  /** Resolves once program's new runner answered (or rejects with why it could not start). */
  add(group: GroupRecord, program: ProgramRecord): Promise<void> {
    let batch = this.batches.get(group);
    if (!batch) {
      batch = { programs: [], done: new Map() };
      this.batches.set(group, batch);
      setTimeout(() => void this.run(group), GATHER_MS).unref();
    }
    batch.programs.push(program);
    const b = batch;
    return new Promise((resolve, reject) => b.done.set(program, { resolve, reject }));
  }

  private async run(group: GroupRecord): Promise<void> {
    const batch = this.batches.get(group)!;
    this.batches.delete(group);
    let last = 0;
    for (const { program, delayMs } of relaunchPlan(batch.programs, group.history)) {
      await pace(last, delayMs);
      last = Date.now();
      const waiter = batch.done.get(program)!;
      try {
        await this.start()(group, program);
        waiter.resolve();
      } catch (err) {
        diag(`${group.name}: relaunch of program ${program.id} failed: ${(err as Error).message}`);
        waiter.reject(err as Error);
      }
    }
  }
}
