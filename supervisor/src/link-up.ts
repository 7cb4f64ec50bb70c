// Fork children register lazily (ARCHITECTURE.md, role `proc`): the parent
// reports the child (`fork`), and the child opens its link only when it has
// something to say. Whoever needs a process on its link now (a checkpoint)
// sends it the call-home signal, whose handler connects and says hello, and
// waits for that.
import { isRunning } from './procfs.js';
import { diag } from './diag.js';

/** Signals each pid and resolves once each is linked or gone, or after timeoutMs. */
export async function linkUp(pids: readonly number[], isLinked: (pid: number) => boolean, signal: number, timeoutMs = 3000): Promise<void> {
  const asked = pids.filter((pid) => {
    try {
      process.kill(pid, signal);
      return true;
    } catch (err) {
      diag(`cannot ask ${pid} to connect: ${(err as Error).message}`);
      return false;
    }
  });
  const deadline = Date.now() + timeoutMs;
  while (asked.some((pid) => !isLinked(pid) && isRunning(pid)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
}
