// Starts cluster mode in the background when cluster.ini exists: the
// supervisor serves its socket at once; joining waits for etcd, retrying.
import path from 'node:path';
import type { Registry } from '../model/registry.js';
import type { Lifecycle } from '../lifecycle/machine.js';
import { FINAL } from '../lifecycle/phases.js';
import { ClusterConfigError, SHARED_POLICY_FILE, loadClusterConfig } from './config.js';
import { ClusterService, type ClusterDeps } from './service.js';
import type { ClusterSlot } from './requests.js';
import { diag } from '../diag.js';
import { readJson } from '../persist.js';
import { loadPolicy } from '../policy/load.js';
import type { SourceText } from '../policy/types.js';

/** nodes = of each placed group of the last shared policy this node applied. */
function lastPlacement(home: string): Map<string, string[]> {
  const texts = readJson<SourceText[]>(path.join(home, SHARED_POLICY_FILE));
  const r = texts ? loadPolicy(texts) : null;
  return new Map(r?.ok ? r.policy.groups.filter((g) => g.nodes.length).map((g) => [g.name, g.nodes]) : []);
}

const RETRY_MS = 1000;

export function startCluster(home: string, env: NodeJS.ProcessEnv, slot: ClusterSlot, deps: ClusterDeps, lifecycle: Lifecycle): void {
  let cfg;
  try {
    cfg = loadClusterConfig(home, env);
  } catch (err) {
    slot.why = `cluster mode is not running: ${(err as Error).message}`;
    diag(slot.why);
    if (!(err instanceof ClusterConfigError)) throw err;
    return;
  }
  if (!cfg) {
    slot.why = `this supervisor is not in cluster mode (no ${home}/cluster.ini; docs/cluster.md)`;
    return;
  }
  slot.why = `cluster mode is starting: joining ${cfg.endpoints.join(', ')}`;
  // A placed group whose runners died (a reboot) is started again here only while this node owns it:
  // another node may have taken it over meanwhile.
  const relaunch = lifecycle.relaunch;
  const before = lastPlacement(home);
  lifecycle.relaunch = (group, program) => {
    const nodes = deps.groups.spec(group.name)?.nodes ?? before.get(group.name) ?? [];
    if (nodes.length === 0 || slot.service?.ownsHere(group.name)) return relaunch(group, program);
    return Promise.reject(new Error(`not relaunched: ${group.name} is placed on ${nodes.join(', ')} and this node does not own it now (${slot.service ? 'another node does, or none' : slot.why})`));
  };
  // Until this node has joined, a placed group (nodes =) starts nowhere here, and the policy cannot be shared.
  deps.groups.sharing = {
    placed: (names) => Promise.resolve(names.filter((n) => !deps.groups.spec(n)?.nodes.length)),
    publish: () => Promise.reject(new Error(`${slot.why}; the policy is shared once it has`)),
  };
  const attempt = () => {
    ClusterService.start(cfg, deps).then(
      (svc) => {
        slot.service = svc;
      },
      (err: Error) => {
        slot.why = `cluster mode is not running yet: ${err.message} (trying again every ${RETRY_MS / 1000} s)`;
        diag(slot.why);
        setTimeout(attempt, RETRY_MS).unref();
      },
    );
  };
  attempt();
}

/** Ends a group's programs at once: this node may no longer be its owner, and a backup may start it any moment. */
export function fence(registry: Registry, lifecycle: Lifecycle, name: string): void {
  const g = registry.group(name);
  if (!g) return;
  for (const p of g.programs) if (!FINAL.has(p.phase)) lifecycle.feed(g, p, { kind: 'stop', signal: 9, graceMs: 0 });
}
