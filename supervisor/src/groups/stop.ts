// Stops one group: first deactivate (its stop command, an init script's stop
// action, or its stop signal: finish current work, take no new), wait up to
// stop_timeout, then SIGKILL the whole tree through its runner (a child
// subreaper, so daemonized descendants are included).
import type { Registry } from '../model/registry.js';
import type { ProgramRecord } from '../model/types.js';
import type { GroupPolicy } from '../policy/types.js';
import type { Lifecycle } from '../lifecycle/machine.js';
import { FINAL } from '../lifecycle/phases.js';
import { runCommand } from '../health/run-command.js';
import { diag } from '../diag.js';
import { asUser, groupEnv } from './launch.js';
import { shellQuote } from './shell.js';

/** Stop settings of a group that has no policy (started with `durun -- CMD`). */
const AD_HOC = { stopSignal: 15, stopTimeoutMs: 10_000 };
/** After SIGKILL, how long the runner gets to report the end before we give up. */
const KILL_MARGIN_MS = 5000;
const POLL_MS = 25;

const active = (p: ProgramRecord) => !FINAL.has(p.phase);

async function until(done: () => boolean, deadline: number): Promise<boolean> {
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}

/** The argv that asks the group to stop, or null to use the stop signal. */
function stopArgv(g: GroupPolicy | null): string[] | null {
  if (!g) return null;
  if (g.stopCommand) return asUser(g, g.stopCommand);
  if (g.initScript) return asUser(g, [g.initScript, 'stop']);
  return null;
}

/** Resolves when every program of the group has ended; throws if something survived SIGKILL. */
export async function stopGroup(registry: Registry, lifecycle: Lifecycle, name: string, g: GroupPolicy | null, home: string): Promise<void> {
  const group = registry.group(name);
  if (!group) return;
  const targets = group.programs.filter(active);
  if (targets.length === 0) return;
  // Ended, or gone while its runner is away (it is told to finish when it re-attaches).
  const ended = () => targets.every((p) => !active(p) || (!registry.runner(name, p.id) && registry.liveProcessesOf(group, p.id).length === 0));
  const { stopSignal, stopTimeoutMs } = g ?? AD_HOC;
  const deadline = Date.now() + stopTimeoutMs;
  const argv = stopArgv(g);
  if (argv) {
    // Stopping by its own command: marked as a stop (no restart), signalled only if it overstays.
    for (const p of targets) lifecycle.feed(group, p, { kind: 'stop', signal: 0, graceMs: 0 });
    const res = await runCommand(shellQuote(argv), { timeoutMs: Math.max(1, stopTimeoutMs), cwd: g!.cwd, env: groupEnv(g!, home) });
    if (res.status !== 0) diag(`${name}: stop command ${argv.join(' ')} ${res.timedOut ? 'timed out' : `exited with ${res.status}`}: ${res.output.trim().slice(-200)}`);
    if (!(await until(ended, deadline))) for (const p of targets) if (active(p)) lifecycle.feed(group, p, { kind: 'stop', signal: 9, graceMs: 0 });
  } else {
    for (const p of targets) lifecycle.feed(group, p, { kind: 'stop', signal: stopSignal, graceMs: stopTimeoutMs });
  }
  if (!(await until(ended, Math.max(deadline, Date.now()) + KILL_MARGIN_MS))) {
    throw new Error(`group ${name} did not stop within ${(stopTimeoutMs + KILL_MARGIN_MS) / 1000} s even after SIGKILL; see supervisor.log`);
  }
  for (const p of targets) if (active(p)) lifecycle.feed(group, p, { kind: 'tree-gone' });
}
