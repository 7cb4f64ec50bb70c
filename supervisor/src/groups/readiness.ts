// Waits until a starting group counts as initialized (its `ready` condition),
// so its dependents may start; fails early when the group ends first and at
// its start_timeout otherwise.
import type { Registry } from '../model/registry.js';
import type { GroupPolicy } from '../policy/types.js';
import { formatDuration } from '../protocol/duration.js';
import { tcpProbe, httpProbe } from '../health/probes.js';
import { runCommand } from '../health/run-command.js';
import type { Launched } from './launch.js';
import { groupEnv } from './launch.js';

const POLL_MS = 25;
/** Probes (tcp, health) run at most this often while waiting. */
const PROBE_EVERY_MS = 100;

export interface ReadyContext {
  registry: Registry;
  home: string;
  /** When the group last said it is ready (`durun notify --ready` or op `ready`), or undefined. */
  notifiedAt(group: string): number | undefined;
}

export function describeReady(g: GroupPolicy): string {
  const r = g.ready;
  if (r.kind === 'tcp') return `tcp:${r.host}:${r.port}`;
  if (r.kind === 'delay') return `delay:${formatDuration(r.ms)}`;
  return r.kind;
}

async function healthy(g: GroupPolicy, home: string, timeLeft: number): Promise<boolean> {
  for (const c of g.health.checks) {
    const timeoutMs = Math.max(1, Math.min(c.timeoutMs, timeLeft));
    const p = c.probe;
    const res = p.kind === 'tcp' ? await tcpProbe(p.host, p.port, timeoutMs)
      : p.kind === 'http' ? await httpProbe(p.url, timeoutMs)
      : await runCommand(p.command, { timeoutMs, cwd: g.cwd, env: groupEnv(g, home) });
    if (res.status !== 0) return false;
  }
  return true;
}

/** Why the group cannot become ready any more (it ended), or null while it may. */
function endedEarly(g: GroupPolicy, launched: Launched, ctx: ReadyContext): string | null {
  const group = ctx.registry.group(g.name);
  const program = group && ctx.registry.program(group, launched.program);
  if (!group || !program) return null;
  if (g.initScript) {
    const root = group.processes.find((p) => p.pid === launched.pid && p.program === launched.program);
    if (root && root.state !== 'running' && (root.exitStatus ?? 0) !== 0) return `${g.initScript} start exited with status ${root.exitStatus}`;
  }
  if (program.state === 'running' || program.state === 'restarting' || program.state === 'lost') return null;
  const last = program.lastExit;
  return `it ${program.state === 'failed' ? 'failed' : 'ended'} before it was ready (${last?.signal ? `signal ${last.signal}` : `exit status ${last?.status ?? '?'}`})`;
}

/** An init script's start action has to finish (exit 0) before its daemon counts as started. */
function startActionDone(g: GroupPolicy, launched: Launched, ctx: ReadyContext): boolean {
  if (!g.initScript) return true;
  const group = ctx.registry.group(g.name);
  const root = group?.processes.find((p) => p.pid === launched.pid && p.program === launched.program);
  return !!root && root.state !== 'running' && (root.exitStatus ?? 0) === 0;
}

/** Resolves when ready; rejects with one line saying what did not happen in time. */
export async function waitReady(g: GroupPolicy, launched: Launched, startedAt: number, ctx: ReadyContext): Promise<void> {
  const deadline = startedAt + g.startTimeoutMs;
  let nextProbe = 0;
  for (;;) {
    const why = endedEarly(g, launched, ctx);
    if (why) throw new Error(`group ${g.name}: ${why}`);
    const now = Date.now();
    if (startActionDone(g, launched, ctx)) {
      const r = g.ready;
      if (r.kind === 'started') return;
      if (r.kind === 'notify' && (ctx.notifiedAt(g.name) ?? 0) >= startedAt) return;
      if (r.kind === 'delay' && now >= startedAt + r.ms) return;
      if ((r.kind === 'tcp' || r.kind === 'health') && now >= nextProbe) {
        nextProbe = now + PROBE_EVERY_MS;
        const left = Math.max(1, deadline - now);
        if (r.kind === 'tcp' && (await tcpProbe(r.host, r.port, Math.min(1000, left))).status === 0) return;
        if (r.kind === 'health' && (await healthy(g, ctx.home, left))) return;
      }
    }
    if (Date.now() >= deadline) {
      throw new Error(`group ${g.name} did not become ready within ${formatDuration(g.startTimeoutMs)} (ready = ${describeReady(g)})`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
