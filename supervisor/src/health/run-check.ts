// Runs one check once, whatever its probe, into one result shape.
import type { CheckConfig } from './config.js';
import { runCommand } from './run-command.js';
import { httpProbe, tcpProbe } from './probes.js';

export interface CheckResult {
  group: string;
  check: string;
  healthy: boolean;
  /** Exit status (probes: 0 or 1); null when it timed out. */
  status: number | null;
  timedOut: boolean;
  startedAt: number;
  durationMs: number;
  output: string;
}

export async function runCheck(group: string, c: CheckConfig, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const startedAt = Date.now();
  const p = c.probe;
  const r = p.kind === 'tcp' ? await tcpProbe(p.host, p.port, c.timeoutMs)
    : p.kind === 'http' ? await httpProbe(p.url, c.timeoutMs)
    : await runCommand(p.command, { timeoutMs: c.timeoutMs, user: c.user ?? null, env: { ...env, DURUN_CHECK_GROUP: group, DURUN_CHECK: c.name } });
  return { group, check: c.name, healthy: r.status === 0 && !r.timedOut, status: r.status, timedOut: r.timedOut, startedAt, durationMs: r.durationMs, output: r.output.trim().slice(-500) };
}
