// Fork children register lazily (ARCHITECTURE.md, role `proc`): the parent
// reports the child (`fork`), and the child opens its link only when it has
// something to say. Whoever needs a process on its link now (a checkpoint)
// sends it the call-home signal, whose handler connects and says hello, and
// waits for that. Only proven pids that carry the interceptor are signalled:
// to anything else the call-home signal's default action is death.
import type { Registry } from './model/registry.js';
import type { GroupRecord, ProcRecord } from './model/types.js';
import { hasInterceptor, isRunning } from './procfs.js';
import { proveDescendant, signalProven, type Proof } from './proof.js';

/**
 * The proof that a record's pid is the program's: its start time when one
 * was read (peer credentials or a runner-tree walk put it there), else a
 * walk up its parents to the program's runner (a pid from a fork report).
 */
export function proveRecord(registry: Registry, group: GroupRecord, rec: ProcRecord): Proof | null {
  if (rec.startTime !== null) return { pid: rec.pid, startTime: rec.startTime };
  const program = registry.program(group, rec.program);
  if (!program || program.runnerStartTime === null) return null;
  return proveDescendant(rec.pid, { pid: program.runnerPid, startTime: program.runnerStartTime });
}

/** Signals each proven pid that carries the interceptor; resolves once each is linked or gone, or after timeoutMs. */
export async function linkUp(proofs: readonly Proof[], isLinked: (pid: number) => boolean, signal: number, timeoutMs = 3000): Promise<void> {
  const asked = proofs.filter((p) => hasInterceptor(p.pid) && signalProven(p, signal, 'call home for a checkpoint')).map((p) => p.pid);
  const deadline = Date.now() + timeoutMs;
  while (asked.some((pid) => !isLinked(pid) && isRunning(pid)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
}
