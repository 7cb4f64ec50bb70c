// Acting on a program's instance: asking its runner to kill the tree, or
// killing it ourselves when the runner is unreachable.
import type { Registry } from './model/registry.js';
import type { GroupRecord, ProgramRecord } from './model/types.js';
import { descendants, isRunning } from './procfs.js';
import { diag } from './diag.js';

/** Stops the current instance of a program: `signal` first, SIGKILL after graceMs. */
export function killInstance(registry: Registry, group: GroupRecord, program: ProgramRecord, signal: number, graceMs: number): void {
  const runner = registry.runner(group.name, program.id);
  if (runner) {
    runner.send({ op: 'kill', signal, graceMs });
    return;
  }
  // No runner link: signal what we know directly (tracked processes and the runner's subtree).
  const pids = new Set(registry.liveProcessesOf(group, program.id).map((p) => p.pid));
  if (isRunning(program.runnerPid)) for (const d of descendants(program.runnerPid)) pids.add(d.pid);
  diag(`${group.name}/${program.id}: runner not connected; signalling ${pids.size} process(es) directly`);
  const send = (sig: number) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // ESRCH: already gone, which is what we want
      }
    }
  };
  send(signal);
  if (signal !== 9) setTimeout(() => send(9), graceMs).unref();
}
