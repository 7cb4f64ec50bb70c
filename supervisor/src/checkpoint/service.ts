// Wires checkpointing into the supervisor: the coordinator (barriers,
// manifests, interval timers), restore, the client requests, and what the
// control server tells it about process links.
import type { Registry } from '../model/registry.js';
import type { GroupRecord } from '../model/types.js';
import type { Policy } from '../policy/types.js';
import type { ProcHello } from '../protocol/messages.js';
import type { CheckpointRequest, CheckpointsAnswer, CheckpointView, MigrateAnswer, RestoreAnswer } from '../protocol/checkpoint-requests.js';
import { Coordinator, RequestError, type CkptWord } from './coordinator.js';
import { Restorer } from './restore.js';
import { outsideHello } from './pids.js';
import { Migrator, type AwayMove } from './migrate.js';

export { RequestError };

export class CheckpointService {
  readonly coord: Coordinator;
  readonly restorer: Restorer;
  private readonly migrator: Migrator;

  /** stopGroup(g, kill): ends the group's programs, at once with SIGKILL when kill (a move's parked members). */
  constructor(private readonly registry: Registry, home: string, stopGroup: (g: GroupRecord, kill?: boolean) => Promise<unknown>) {
    this.coord = new Coordinator(registry, home);
    this.restorer = new Restorer(registry, this.coord, stopGroup);
    this.migrator = new Migrator(registry, this.coord, this.restorer, (g) => stopGroup(g, true), home);
  }

  handle(req: CheckpointRequest): Promise<CheckpointView | CheckpointsAnswer | RestoreAnswer | MigrateAnswer> {
    switch (req.op) {
      case 'checkpoint':
        return this.coord.checkpoint(req.group, { full: req.full });
      case 'checkpoints':
        return Promise.resolve({ group: req.group, checkpoints: this.coord.list(req.group) });
      case 'restore':
        return this.restorer.restore(req.group, req.from);
      case 'migrate':
        if (req.to) return Promise.reject(new RequestError(`durun migrate --to ${req.to}: moving to another node needs cluster mode (docs/cluster.md); this supervisor is a single node`));
        return this.migrator.migrate(req.group);
    }
  }

  /** A move to another node (cluster/move.ts). */
  moveAway(group: string, away: AwayMove): Promise<MigrateAnswer> {
    return this.migrator.migrate(group, away);
  }

  setPolicy(p: Policy): void {
    for (const g of p.groups) this.coord.setPolicy(g.name, g.checkpoint);
  }

  /** A hello from a pid namespace (peer pid differs) seen from outside; others unchanged. */
  outside(h: ProcHello, peerPid: number): ProcHello {
    if (!peerPid || peerPid === h.pid) return h;
    return outsideHello(h, peerPid, this.registry, (group, inner) => this.coord.outerOf(group, inner));
  }

  /** A process link is registered (pid outside, inner as it sees itself). */
  attached(h: ProcHello, inner: number, send: (m: Record<string, unknown>, written?: () => void) => void): void {
    this.coord.attach(h.pid, inner, h.group, send);
    if (h.reason === 'restore') this.restorer.registered(h.group, inner, h.pid);
  }

  detached(pid: number, send: (m: Record<string, unknown>) => void): void {
    this.coord.detach(pid, send);
  }

  /** ckpt-* words of a process link; false for other messages. */
  message(pid: number, msg: { op: string }): boolean {
    if (!msg.op.startsWith('ckpt-')) return false;
    this.coord.message(pid, msg as CkptWord);
    return true;
  }

  /** A snapshot writer introduced itself (member: the pid its member sees; pid: the writer's, from its credentials). */
  writerHello(group: string, id: string, member: number, pid: number): void {
    this.coord.writerHello(group, id, member, pid);
  }

  /** The words of a snapshot writer's link (member: the pid its member sees). */
  writerMessage(group: string, member: number, msg: { op: string }): void {
    if (msg.op.startsWith('ckpt-')) this.coord.writerMessage(group, member, msg as CkptWord);
  }
}
