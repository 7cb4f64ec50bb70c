// The one way the supervisor starts a program: a detached durun runner
// (`durun run --detach`), which becomes the program's parent, so the
// supervisor itself never is. Used by policy groups, `durun restart` of a
// finished program, and restore (with the hidden --restore options).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RestartPolicy } from './protocol/messages.js';
import type { RestartOptions } from './model/types.js';

/** dist/supervisor/src/ → repository root → build/durun. */
export const DURUN_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'build', 'durun');

export interface RunnerSpec {
  group: string;
  restart: RestartPolicy;
  options: RestartOptions;
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Runner options placed before `--` (e.g. --restore IMAGE). */
  extra?: string[];
}

/** env without durun's own variables: a program started afresh gets its DURUN_* from its runner. */
export function withoutDurunVars(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith('DURUN_') && k !== 'LD_PRELOAD') out[k] = v;
  return out;
}

/** Starts the runner; resolves with the program id and root pid it reports, rejects with its last error line. */
export async function startDetachedRunner(spec: RunnerSpec): Promise<{ program: number; pid: number }> {
  const o = spec.options;
  const args = ['run', '--detach', '--group', spec.group, '--restart', spec.restart,
    '--backoff', String(o.backoffMs), '--backoff-max', String(o.backoffMaxMs), '--max-restarts', String(o.maxRestarts),
    '--restart-window', String(o.restartWindowMs), ...(spec.extra ?? []), '--', ...spec.argv];
  // execa, loaded on the first launch: an idle supervisor without policy groups never loads it.
  const { execa } = await import('execa');
  const r = await execa(DURUN_BIN, args, { cwd: spec.cwd, env: spec.env, extendEnv: false, stdin: 'ignore', reject: false, cleanup: false });
  if (r.failed && r.exitCode === undefined) throw new Error(`cannot run ${DURUN_BIN}: ${r.shortMessage}`);
  const m = /\(program (\d+), pid (\d+)\)/.exec(r.stdout);
  if (r.exitCode === 0 && m) return { program: Number(m[1]), pid: Number(m[2]) };
  throw new Error(r.stderr.trim().split('\n').pop() || `durun run exited with ${r.exitCode ?? r.signal}`);
}
