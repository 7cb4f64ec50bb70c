// Starts a policy group: a detached durun runner (`durun run --detach`) for
// its command or its init script's start action, with the policy's cwd,
// environment, user and restart settings. The runner, not the supervisor, is
// the parent, so the supervisor can restart without touching the program.
import type { GroupPolicy } from '../policy/types.js';
import { startDetachedRunner, withoutDurunVars } from '../detached-runner.js';
import { lookupUser } from './users.js';

export interface Launched { program: number; pid: number }

/** The environment a group's programs and scripts run with: ours without durun's own variables, plus the policy's. */
export function groupEnv(g: GroupPolicy, home: string): NodeJS.ProcessEnv {
  const env = withoutDurunVars(process.env);
  if (g.user !== null) {
    const acct = lookupUser(g.user);
    Object.assign(env, { HOME: acct.home, USER: acct.name, LOGNAME: acct.name });
  }
  return { ...env, ...g.env, DURUN_HOME: home };
}

/** argv that runs argv as the policy's user (setpriv drops to it after the runner is set up). */
export function asUser(g: GroupPolicy, argv: string[]): string[] {
  if (g.user === null) return argv;
  const acct = lookupUser(g.user);
  if (acct.uid === process.getuid!()) return argv;
  return ['setpriv', `--reuid=${acct.uid}`, `--regid=${acct.gid}`, '--init-groups', '--', ...argv];
}

/** What the runner runs: the command, or `SCRIPT start`. */
export function startArgv(g: GroupPolicy): string[] {
  return asUser(g, g.command ?? [g.initScript!, 'start']);
}

/** Runner flags for env_file and limit.* (the runner reads the files at each launch and applies the limits). */
export function runnerFlags(g: GroupPolicy): string[] {
  return [...g.envFiles.flatMap((f) => ['--env-file', f]), ...Object.entries(g.limits).flatMap(([k, val]) => ['--limit', `${k}=${val}`])];
}

export function launchGroup(g: GroupPolicy, home: string): Promise<Launched> {
  return startDetachedRunner({
    group: g.name, restart: g.restart, argv: startArgv(g), cwd: g.cwd, env: groupEnv(g, home), extra: runnerFlags(g),
    options: { backoffMs: g.backoffMs, backoffMaxMs: g.backoffMaxMs, maxRestarts: g.maxRestarts, restartWindowMs: g.restartWindowMs },
  }).catch((err: Error) => {
    throw new Error(`group ${g.name} did not start: ${err.message}`);
  });
}
