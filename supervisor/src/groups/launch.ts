// Starts a policy group: a detached durun runner (`durun run --detach`) for
// its command or its init script's start action, with the policy's cwd,
// environment, user and restart settings. The runner, not the supervisor, is
// the parent, so the supervisor can restart without touching the program.
import { spawn } from 'node:child_process';
import type { GroupPolicy } from '../policy/types.js';
import { DURUN_BIN } from './paths.js';
import { lookupUser } from './users.js';

export interface Launched { program: number; pid: number }

/** The environment a group's programs and scripts run with: ours without durun's own variables, plus the policy's. */
export function groupEnv(g: GroupPolicy, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, val] of Object.entries(process.env)) if (!k.startsWith('DURUN_') && k !== 'LD_PRELOAD') env[k] = val;
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

export function launchGroup(g: GroupPolicy, home: string): Promise<Launched> {
  const args = ['run', '--detach', '--group', g.name, '--restart', g.restart,
    '--backoff', String(g.backoffMs), '--backoff-max', String(g.backoffMaxMs),
    '--max-restarts', String(g.maxRestarts), '--restart-window', String(g.restartWindowMs), '--', ...startArgv(g)];
  return new Promise((resolve, reject) => {
    const child = spawn(DURUN_BIN, args, { cwd: g.cwd, env: groupEnv(g, home), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('error', (e) => reject(new Error(`cannot run ${DURUN_BIN} for group ${g.name}: ${e.message}`)));
    child.on('close', (code) => {
      const m = /\(program (\d+), pid (\d+)\)/.exec(out);
      if (code === 0 && m) return resolve({ program: Number(m[1]), pid: Number(m[2]) });
      reject(new Error(`group ${g.name} did not start: ${err.trim().split('\n').pop() || `durun run exited with ${code}`}`));
    });
  });
}
