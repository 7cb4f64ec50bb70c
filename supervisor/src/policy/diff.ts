// What a policy edit means for running groups: which groups are new, gone,
// need a restart (how they are launched changed), or only take new settings
// (health checks, timeouts, stop action...) that apply without a restart.
import type { GroupPolicy, Policy } from './types.js';

export interface PolicyDiff { added: string[]; removed: string[]; restart: string[]; updated: string[] }

/** Settings baked into the running processes: changing one means restarting the group. */
const LAUNCH_KEYS = ['command', 'initScript', 'cwd', 'env', 'envFiles', 'limits', 'user', 'restart', 'backoffMs', 'backoffMaxMs', 'maxRestarts', 'restartWindowMs'] as const;

const pick = (g: GroupPolicy, keys: readonly string[]) => JSON.stringify(keys.map((k) => (g as unknown as Record<string, unknown>)[k]));
/** Everything else that matters (positions in files do not). */
const rest = (g: GroupPolicy) => {
  const { file: _f, line: _l, keyLines: _k, ...settings } = g;
  return pick(settings as GroupPolicy, Object.keys(settings).filter((k) => !(LAUNCH_KEYS as readonly string[]).includes(k)).sort());
};

export function diffPolicies(before: Policy | null, after: Policy): PolicyDiff {
  const old = new Map((before?.groups ?? []).map((g) => [g.name, g]));
  const now = new Map(after.groups.map((g) => [g.name, g]));
  const diff: PolicyDiff = { added: [], removed: [], restart: [], updated: [] };
  for (const [name, g] of now) {
    const o = old.get(name);
    if (!o) diff.added.push(name);
    else if (pick(o, LAUNCH_KEYS) !== pick(g, LAUNCH_KEYS)) diff.restart.push(name);
    else if (rest(o) !== rest(g)) diff.updated.push(name);
  }
  for (const name of old.keys()) if (!now.has(name)) diff.removed.push(name);
  return diff;
}
