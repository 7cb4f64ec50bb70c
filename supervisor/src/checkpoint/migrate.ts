// `durun migrate GROUP`: moves a running group to a new instance of itself
// with its state and its clients' TCP connections (issue 9; the cluster adds
// `--to NODE`). The steps, each waiting for the last:
//   1. find the group's established connections (net-lock.ts); carrying
//      them needs root (TCP_REPAIR) and nftables, else the move is refused
//      before anything is touched;
//   2. a pre-copy: an ordinary checkpoint while the programs run on, so that
//      the move's own image holds only what changed since (as CRIU's
//      pre-dump): the freeze is as short as that image;
//   3. a checkpoint whose members stay parked (Coordinator, `move`): once all
//      are parked the network lock goes up, then each member takes its image
//      in place with its connections in repair mode;
//   4. once committed, the members are killed where they are parked: their
//      repaired sockets close without a FIN or RST;
//   5. the group is restored from that checkpoint; each durun-restore
//      rebuilds the connections and lifts its program's lock before the
//      program runs again. Whatever lock is left is lifted at the end.
// A failure before step 4 lets the members run on (abort: their connections
// leave repair mode) and lifts the lock: the group is as before.
import type { Registry } from '../model/registry.js';
import type { GroupRecord } from '../model/types.js';
import type { MigrateAnswer, RestoreAnswer } from '../protocol/checkpoint-requests.js';
import { diag } from '../diag.js';
import { RequestError, type Coordinator } from './coordinator.js';
import type { Restorer } from './restore.js';
import { NetLock, liveConnections, lockPrefix, nftPath, type LiveConnection } from './net-lock.js';
import { proveRecord } from '../link-up.js';
import { signalProven } from '../proof.js';
import { readStat } from '../procfs.js';

/**
 * Whether every thread of pid has exited, so none of its fds is open any
 * more: gone, or a zombie leader alone. A leader is a zombie as soon as it
 * exits itself, while its other threads may still be on their way out
 * (unmapping the memory they share comes before closing the fds they share).
 */
function fdsReleased(pid: number): boolean {
  const st = readStat(pid);
  return st === null || ((st.state === 'Z' || st.state === 'X') && st.threads === 1);
}

/** Resolves once no pid holds an fd any more (their sockets are closed), or when ended settles first. */
async function deadOrGone(pids: number[], ended: Promise<unknown>): Promise<void> {
  let settled = false;
  void ended.then(() => (settled = true), () => (settled = true));
  while (!settled && !pids.every(fdsReleased)) await new Promise((r) => setTimeout(r, 2));
  await (settled ? ended : undefined);
}

/**
 * A move to another node (cluster/move.ts) in place of the restore here:
 * ship sends the group's checkpoints to the target (the pre-copy's chain,
 * then the move's increment, while the members are parked); handOff, once
 * the old instance is gone, has the target restore the move's checkpoint
 * with these connections and resolves when the group runs there.
 */
export interface AwayMove {
  node: string;
  ship(checkpoint: string): Promise<void>;
  handOff(checkpoint: string, conns: LiveConnection[]): Promise<{ processes: Array<{ pid: number; innerPid: number }> }>;
}

export class Migrator {
  private moves = 0;

  constructor(
    private readonly registry: Registry,
    private readonly coord: Coordinator,
    private readonly restorer: Restorer,
    private readonly kill: (g: GroupRecord) => Promise<unknown>,
    private readonly home: string,
  ) {}

  /** Moves the group to a new instance here, or to another node (away). */
  async migrate(name: string, away?: AwayMove): Promise<MigrateAnswer> {
    const group = this.registry.group(name);
    if (!group) throw new RequestError(`unknown group "${name}"`);
    const procs = this.registry.liveProcessesOf(group);
    if (procs.length === 0) throw new RequestError(`group ${name} has no running process to move`);
    const conns = liveConnections(procs.map((p) => ({ pid: p.pid, program: p.program })));
    if (conns.length > 0 && process.getuid?.() !== 0) {
      const c = conns[0]!;
      throw new RequestError(`cannot move ${name} with its ${conns.length} live TCP connection(s) (e.g. ${c.local}:${c.localPort} <-> ${c.remote}:${c.remotePort}, process ${c.pid} fd ${c.fd}): carrying a connection needs TCP_REPAIR, which only root has (CAP_NET_ADMIN); run durun as root, or use durun checkpoint + durun restore, after which clients reconnect`);
    }
    if (conns.length > 0 && !nftPath()) {
      throw new RequestError(`cannot move ${name} with its ${conns.length} live TCP connection(s): freezing them during the move needs nft (apt-get install nftables)`);
    }
    const lock = new NetLock(lockPrefix(this.home), ++this.moves, conns);
    const pre = await this.coord.checkpoint(name).catch((err: Error) => Promise.reject(new RequestError(`cannot move ${name}: its pre-copy failed: ${err.message}`)));
    await away?.ship(pre.id);
    await lock.prepare();
    const started = Date.now();
    // The old instance's end as its runners report it (set once it is killed).
    const old: { ended: Promise<unknown> | null } = { ended: null };
    // When each step ended (ms since the start), for the answer: where a move spends its time.
    const at = { parked: 0, locked: 0, committed: 0, ended: 0 };
    const since = () => Date.now() - started;
    try {
      const ckpt = await this.coord.checkpoint(name, {
        move: {
          frozen: async () => {
            at.parked = since();
            await lock.engage();
            at.locked = since();
          },
          ended: async (id) => {
            // Away: the increment goes to the target before the old instance ends, so a failure here leaves it running.
            await away?.ship(id);
            at.committed = since();
            // Marked as a stop first (no restart), then killed here at once rather than after a round trip to the
            // runners; the restore starts as soon as the processes are dead (their sockets closed), while the
            // runners are still reporting the end.
            old.ended = this.kill(group);
            const members = this.registry.liveProcessesOf(group);
            for (const p of members) {
              const proof = proveRecord(this.registry, group, p);
              if (proof) signalProven(proof, 'SIGKILL', `end the moved instance of ${name}`);
            }
            await deadOrGone(members.map((p) => p.pid), old.ended);
            at.ended = since();
          },
          thawed: () => lock.release(),
        },
      });
      const replaced = group.programs.slice();
      let restored: { processes: RestoreAnswer['processes'] };
      let frozenMs = 0;
      try {
        if (away) {
          restored = await away.handOff(ckpt.id, conns);
          frozenMs = since();
        } else {
          restored = await this.restorer.restore(name, ckpt.id, { netUnlock: (program) => lock.tableOf(program), replacing: true, running: () => (frozenMs = since()) });
        }
      } finally {
        // The old instance's runners have reported its end by now or soon: its programs give way to the restored ones.
        await old.ended?.catch((err: Error) => diag(`${name}: the end of the moved instance: ${err.message}`));
        group.programs = group.programs.filter((p) => !replaced.includes(p));
      }
      const steps = { parkMs: at.parked, lockMs: at.locked - at.parked, captureAndCommitMs: at.committed - at.locked, endMs: at.ended - at.committed, restoreMs: frozenMs - at.ended };
      this.registry.events.emit({
        type: 'recovery-step', group: name, pid: null,
        reason: `moved${away ? ` to node ${away.node}` : ''} with checkpoint ${ckpt.id}: ${conns.length} live TCP connection(s) carried, ${frozenMs} ms`,
        data: { step: 'migrate', checkpoint: ckpt.id, connections: conns.length, frozenMs, ...steps, ...(away ? { to: away.node } : {}) },
      });
      return { group: name, checkpoint: ckpt.id, connections: conns.length, processes: restored.processes, frozenMs, steps, ...(away ? { node: away.node } : {}) };
    } finally {
      await lock.release();
    }
  }
}
