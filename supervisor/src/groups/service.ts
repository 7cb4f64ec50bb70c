// `durun service SCRIPT start|stop|restart|status`: an LSB init script run as
// a group. start runs the script's start action under the interceptor, so the
// daemon it leaves behind is the group; stop runs its stop action and then
// makes sure the tree is gone; status answers from durun's own knowledge.
import path from 'node:path';
import type { Registry } from '../model/registry.js';
import type { GroupPolicy } from '../policy/types.js';
import { loadPolicy } from '../policy/load.js';
import { formatErrors } from '../policy/errors.js';
import type { ServiceAction, ServiceResult } from '../protocol/group-requests.js';
import { GroupError } from './manager.js';

/** LSB exit codes (Linux Standard Base, "Init Script Actions"). */
export const LSB = { ok: 0, generic: 1, deadWithPid: 1, notRunning: 3, unknown: 4 } as const;

export interface ServiceDeps {
  registry: Registry;
  /** The policy group whose init_script is this script, if any. */
  policyFor(script: string): GroupPolicy | null;
  start(g: GroupPolicy): Promise<void>;
  stop(g: GroupPolicy): Promise<void>;
}

/** A group for a script that no policy names: defaults, the script's base name, cwd / as init does. */
export function adHocService(script: string): GroupPolicy {
  const name = path.basename(script).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '') || 'service';
  const r = loadPolicy([{ file: script, text: `[group ${name}]\ninit_script = ${script}\ncwd = /\n` }]);
  if (!r.ok) throw new GroupError(formatErrors(r.errors));
  return r.policy.groups[0]!;
}

function running(deps: ServiceDeps, name: string): boolean {
  return deps.registry.group(name)?.programs.some((p) => p.state === 'running' || p.state === 'restarting') ?? false;
}

export async function service(deps: ServiceDeps, script: string, action: ServiceAction): Promise<ServiceResult> {
  const g = deps.policyFor(script) ?? adHocService(script);
  const status = (): ServiceResult => {
    if (running(deps, g.name)) return { code: LSB.ok, message: `${g.name} is running` };
    const rec = deps.registry.group(g.name);
    if (rec?.state === 'failed') return { code: LSB.deadWithPid, message: `${g.name} is dead (${rec.failedReason ?? 'failed'})` };
    return { code: LSB.notRunning, message: `${g.name} is not running` };
  };
  const start = async (): Promise<ServiceResult> => {
    if (running(deps, g.name)) return { code: LSB.ok, message: `${g.name} is already running` };
    try {
      await deps.start(g);
      return { code: LSB.ok, message: `started ${g.name}` };
    } catch (err) {
      await deps.stop(g).catch(() => undefined);
      return { code: LSB.generic, message: (err as Error).message };
    }
  };
  const stop = async (): Promise<ServiceResult> => {
    try {
      await deps.stop(g);
      return { code: LSB.ok, message: `stopped ${g.name}` };
    } catch (err) {
      return { code: LSB.generic, message: (err as Error).message };
    }
  };
  switch (action) {
    case 'status': return status();
    case 'start': return start();
    case 'stop': return stop();
    case 'restart': {
      const s = await stop();
      return s.code === LSB.ok ? start() : s;
    }
  }
}
