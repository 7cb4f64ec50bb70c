// Answers the everyday-operation requests (protocol/ops-requests.ts): `rm`.
import type { Registry } from '../model/registry.js';
import type { GroupRecord } from '../model/types.js';
import type { OpsRequest, RemoveResult } from '../protocol/ops-requests.js';
import { programActive, programRunning, removePrograms } from './remove.js';

/** How long `rm` waits for the runners of a finished group to go (they exit right after the end). */
const RUNNERS_GONE_MS = 5000;

/** A refusal the operator can act on (one line). */
export class OpsError extends Error {}

export interface OpsDeps {
  registry: Registry;
  /** Stops every program of a group and resolves when all have ended (`durun stop`). */
  stop(group: GroupRecord): Promise<unknown>;
  /** The policy file that defines a group, or null for an ad-hoc group. */
  policySource(name: string): string | null;
}

/** The one wording of "no such group", listing the known ones. */
export function unknownGroup(registry: Registry, name: string): OpsError {
  const known = [...registry.groups.keys()];
  return new OpsError(`unknown group "${name}"; ${known.length ? `known groups: ${known.join(', ')}` : 'no groups yet (start one with: durun -- CMD)'}`);
}

export class OpsService {
  constructor(private readonly d: OpsDeps) {}

  handle(req: OpsRequest): Promise<unknown> {
    switch (req.op) {
      case 'rm': return this.remove(req.group, req.force === true);
    }
  }

  private async remove(name: string, force: boolean): Promise<RemoveResult> {
    const { registry } = this.d;
    const group = registry.group(name);
    if (!group) throw unknownGroup(registry, name);
    const source = this.d.policySource(name);
    if (source) throw new OpsError(`group ${name} is defined in ${source}: take it out of the policy there and run durun reload (durun down ${name} stops it)`);
    let stopped = false;
    if (group.programs.some((p) => programRunning(registry, group, p))) {
      if (!force) throw new OpsError(`group ${name} is running; stop it first (durun stop ${name}) or remove it with durun rm --force ${name}`);
      await this.d.stop(group);
      stopped = true;
    }
    for (const deadline = Date.now() + RUNNERS_GONE_MS; group.programs.some((p) => programActive(registry, group, p));) {
      if (Date.now() > deadline) throw new OpsError(`group ${name} still has a program running or a runner attached ${RUNNERS_GONE_MS / 1000} s after its end; nothing was removed`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const programs = group.programs.length;
    const { logFiles } = removePrograms(registry, group, [...group.programs]);
    return { group: name, programs, logFiles, stopped };
  }
}
