// The checkpoint API in the supervisor: a program connects with
// hello{role:"state"}; its group is the one the process model holds for the
// connecting pid (SO_PEERCRED) or its nearest ancestor in /proc (a helper
// such as `durun ckpt` run by the program), never a field of the message.
// Saves go where the group's policy says (state.destination; peer by default
// in a pair, else memory) and are answered once stored there; a standby's
// saves are refused until it is promoted.
import path from 'node:path';
import type { Registry } from '../model/registry.js';
import type { Policy, StateDestination } from '../policy/types.js';
import type { DurunEvent } from '../protocol/events.js';
import type { AcceptedState, StateRequest } from '../protocol/state-messages.js';
import { ProtocolError } from '../protocol/messages.js';
import { readStat } from '../procfs.js';
import { StateStore } from './store.js';
import { Roles } from './roles.js';

/** Ancestors looked at for a connecting pid the model does not hold itself. */
const MAX_HOPS = 64;

export class StateError extends Error {}

export class StateService {
  private readonly store: StateStore;
  readonly roles: Roles;
  private destinations = new Map<string, StateDestination | null>();

  constructor(private readonly registry: Registry, home: string) {
    const dir = path.join(home, 'state');
    this.roles = new Roles(dir, () => registry.events, (g) => registry.group(g)?.state);
    this.store = new StateStore(dir);
  }

  setPolicy(p: Policy): void {
    this.destinations = new Map(p.groups.map((g) => [g.name, g.state.destination]));
    this.roles.setPolicy(p.groups);
  }

  observe(e: DurunEvent): void {
    this.roles.observe(e);
  }

  /** The group of the connecting process, proven by its pid; throws (a protocol error: the link is refused) when it is in none. */
  hello(peerPid: number): AcceptedState {
    for (let pid = peerPid, hops = 0; pid > 1 && hops < MAX_HOPS; hops++) {
      const live = this.registry.liveProcess(pid);
      if (live) return { group: live.group.name, role: this.roles.role(live.group.name), destination: this.destination(live.group.name) };
      const st = readStat(pid);
      if (!st) break;
      pid = st.ppid;
    }
    throw new ProtocolError(`process ${peerPid} is not part of any group this supervisor runs; the checkpoint API serves programs started with durun`);
  }

  /** Where the group's saves go now (a standby's: nowhere until promoted). */
  destination(group: string): StateDestination | 'standby' {
    if (this.roles.role(group) === 'standby') return 'standby';
    return this.destinations.get(group) ?? (this.roles.paired(group) ? 'peer' : 'memory');
  }

  async handle(group: string, req: StateRequest, onClose: (f: () => void) => void): Promise<unknown> {
    const scope = this.roles.scope(group);
    switch (req.op) {
      case 'save': {
        const dest = this.destination(group);
        if (dest === 'standby') throw new StateError(`group ${group} is the standby of its pair: its saves are taken once it is promoted (wait for role "active")`);
        return this.store.save(scope, dest, req.key, req.data, req.ts);
      }
      case 'load': {
        const r = this.store.load(scope, req.key);
        return r ? { found: true, data: r.data.toString('base64'), ts: r.ts } : { found: false };
      }
      case 'remove':
        return { removed: await this.store.remove(scope, req.key) };
      case 'list':
        return { keys: this.store.list(scope) };
      case 'role': {
        const role = req.wait ? await this.roles.waitRole(group, req.known ?? this.roles.role(group), onClose) : this.roles.role(group);
        return { role, destination: this.destination(group) };
      }
    }
  }
}
