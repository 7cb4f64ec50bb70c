// Cluster mode (cluster.ini present): joins the cluster in etcd and keeps
// this node's part of it. Membership with a lease on our own clock
// (membership.ts), one master (a key created under our lease, settled by its
// create revision), the policy repository (key `policy`: the texts of the
// policy files; a change on any node applies on all), group ownership
// (`owners/GROUP`, bound to the owner's lease: the primary), checkpoint
// replication to the backups (replication.ts), failover when an owner's
// lease ends, and events fanned out (`events/NODE`).
import type { Lease } from 'etcd3';
import { ClusterStore, type Change, type NodeInfo } from './store.js';
import { Membership } from './membership.js';
import { roles, successor } from './placement.js';
import { ReplicaServer, replicate } from './replication.js';
import { VipKeeper, vipText, type Vip } from './vip.js';
import type { PolicyManager, PolicySharing } from '../groups/manager.js';
import type { CheckpointService } from '../checkpoint/service.js';
import type { Registry } from '../model/registry.js';
import type { EventBus } from '../events/bus.js';
import type { DurunEvent } from '../protocol/events.js';
import type { SourceText } from '../policy/types.js';
import type { ClusterStatus, ClusterEvent, UpgradeAnswer } from '../protocol/cluster-requests.js';
import type { PsCluster } from '../protocol/views.js';
import { diag } from '../diag.js';
import type { MigrateAnswer } from '../protocol/checkpoint-requests.js';
import { NetLock, lockPrefix } from '../checkpoint/net-lock.js';
import { MOVE_IN_MS, parseHandover, type Handover, type MoveIn, type Moved } from './move.js';
import { writeJsonAtomic } from '../persist.js';
import path from 'node:path';
import { SHARED_POLICY_FILE, type ClusterConfig } from './config.js';

/** Events of every node kept for `durun cluster events`. */
const RECENT_EVENTS = 200;
/** How often the virtual IPs are brought in line with ownership (each pass probes before it takes an address). */
const VIP_EVERY_MS = 500;

export interface ClusterDeps {
  home: string;
  registry: Registry;
  groups: PolicyManager;
  ckpt: CheckpointService;
  bus: EventBus;
  /** Ends a group's programs at once (SIGKILL through their runners): this node may no longer own it. */
  fence(group: string): void;
  /** Stops a group as `durun stop` does. */
  stop(group: string): Promise<unknown>;
}

interface Replica { id: string; storedAt: string; lagMs: number }

/** HOST:PORT as a node announces its replication address. */
const hostPort = (address: string) => ({ host: address.slice(0, address.lastIndexOf(':')), port: Number(address.slice(address.lastIndexOf(':') + 1)) });

export class ClusterService implements PolicySharing {
  private membership!: Membership;
  private replicas: ReplicaServer | null = null;
  private readonly recent: ClusterEvent[] = [];
  /** Groups with a replication running, and whether another is wanted after it. */
  private readonly syncing = new Map<string, boolean>();
  /** Groups this node is taking over (restore or start under way). */
  private readonly takingOver = new Set<string>();
  /** Shutting down: nothing more is shared or taken over. */
  private closing = false;
  private readonly vips = new VipKeeper();
  /** Groups moving in from another node (their address is held before they run), and a count for their lock tables. */
  private readonly movingIn = new Set<string>();
  private movesIn = 0;
  private vipTimer: NodeJS.Timeout | null = null;

  private constructor(private readonly cfg: ClusterConfig, private readonly store: ClusterStore, private readonly deps: ClusterDeps) {}

  static async start(cfg: ClusterConfig, deps: ClusterDeps): Promise<ClusterService> {
    const store = await ClusterStore.connect(cfg);
    const svc = new ClusterService(cfg, store, deps);
    try {
      await svc.begin();
    } catch (err) {
      svc.replicas?.close();
      await store.close();
      throw err;
    }
    return svc;
  }

  private async begin(): Promise<void> {
    const replicas = new ReplicaServer(this.cfg.secret, (g) => this.deps.ckpt.coord.trustedGroupDir(g));
    replicas.onStored = (group, id, from) => diag(`cluster: stored checkpoint ${id} of ${group} from ${from}`);
    this.replicas = replicas;
    await replicas.listen(this.cfg.listen.host, this.cfg.listen.port);
    await this.store.follow((c) => this.changed(c), (err) => diag(`cluster: etcd watch: ${err.message}`));
    this.membership = new Membership(this.store, this.cfg.leaseSeconds, {
      joined: (lease) => void this.joined(lease).catch((err: Error) => diag(`cluster: after joining: ${err.message}`)),
      demoted: (reason) => this.demoted(reason),
    });
    this.membership.start();
    this.deps.groups.sharing = this;
    this.deps.bus.follow((e) => this.localEvent(e));
    this.vipTimer = setInterval(() => void this.vips.reconcile(this.wantedVips()), VIP_EVERY_MS);
    diag(`cluster: node ${this.cfg.node} of ${this.cfg.name} on ${this.cfg.endpoints.join(', ')}; replication on ${this.cfg.listen.host}:${this.cfg.listen.port}`);
  }

  // ---- membership ----

  private live(): Set<string> {
    return new Set(this.store.under('nodes/').map(([n]) => n));
  }

  private owner(group: string): string | null {
    return this.store.get(`owners/${group}`);
  }

  private async joined(lease: Lease): Promise<void> {
    // Groups running here that we own from an earlier lease are bound to this one; one someone else took meanwhile is fenced.
    for (const g of this.placedSpecs()) {
      if (!this.runsHere(g.name)) continue;
      const holder = await this.store.claim(`owners/${g.name}`, this.cfg.node, lease);
      if (holder !== this.cfg.node) {
        diag(`cluster: ${g.name} runs here but ${holder ?? 'no node'} owns it: fencing it`);
        this.deps.fence(g.name);
      }
    }
    const shared = this.store.get('policy');
    if (shared) await this.applyShared(shared);
    // Announced only now: a node that hands a group back to us (failback) finds us knowing the policy.
    const info: NodeInfo = { node: this.cfg.node, address: `${this.cfg.advertise.host}:${this.cfg.advertise.port}`, pid: process.pid, since: new Date().toISOString(), lease: this.membership.leaseId ?? '' };
    await this.store.put(`nodes/${this.cfg.node}`, JSON.stringify(info), lease);
    await this.campaign();
    // This node is the primary of groups no one runs: they start here (autostart only on the primary).
    const home = this.placedSpecs().filter((g) => g.autostart && g.nodes[0] === this.cfg.node && !this.owner(g.name) && !this.runsHere(g.name)).map((g) => g.name);
    for (const name of await this.placed(home)) await this.deps.groups.startPlaced(name).catch((err: Error) => diag(`cluster: starting ${name} on its primary: ${err.message}`));
  }

  private async campaign(): Promise<void> {
    const lease = this.membership.lease;
    if (!lease || this.membership.state !== 'member') return;
    const master = await this.store.claim('master', this.cfg.node, lease);
    diag(`cluster: master is ${master ?? 'nobody'}`);
  }

  private demoted(reason: string): void {
    for (const g of this.placedSpecs()) {
      if (this.owner(g.name) === this.cfg.node || this.runsHere(g.name)) {
        diag(`cluster: fencing ${g.name}: ${reason}`);
        this.deps.fence(g.name);
      }
    }
    void this.vips.dropAll();
  }

  /** The virtual IPs this node should hold: of the groups it owns, as a member, and runs. */
  private wantedVips(): Map<string, Vip> {
    const want = new Map<string, Vip>();
    if (this.membership.state !== 'member' || this.closing) return want;
    for (const g of this.placedSpecs()) {
      if (g.vip && this.owner(g.name) === this.cfg.node && (this.runsHere(g.name) || this.movingIn.has(g.name))) want.set(g.name, g.vip);
    }
    return want;
  }

  /** This node owns the group, as a member with a live lease. */
  ownsHere(group: string): boolean {
    return this.membership.state === 'member' && this.owner(group) === this.cfg.node;
  }

  private runsHere(group: string): boolean {
    return this.deps.registry.group(group)?.programs.some((p) => p.state === 'running' || p.state === 'restarting') ?? false;
  }

  /** Policy groups placed on this node (nodes = names it). */
  private placedSpecs() {
    const names = this.deps.groups.status().groups;
    return names.map((n) => this.deps.groups.spec(n)!).filter((g) => g && g.nodes.includes(this.cfg.node));
  }

  // ---- PolicySharing ----

  async placed(names: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const name of names) {
      const g = this.deps.groups.spec(name);
      if (!g || g.nodes.length === 0) {
        out.push(name);
        continue;
      }
      if (!g.nodes.includes(this.cfg.node)) continue;
      const lease = this.membership.lease;
      if (!lease || this.membership.state !== 'member') {
        diag(`cluster: not starting ${name}: this node is not a member yet`);
        continue;
      }
      const owner = this.owner(name);
      if (owner === this.cfg.node) out.push(name);
      else if (owner === null && g.nodes[0] === this.cfg.node) {
        // The primary takes its group; a backup never takes one no one ran (it waits for the primary, or a failover).
        if ((await this.store.claim(`owners/${name}`, this.cfg.node, lease)) === this.cfg.node) out.push(name);
      }
    }
    return out;
  }

  async publish(texts: SourceText[]): Promise<void> {
    await this.store.put('policy', JSON.stringify({ node: this.cfg.node, at: new Date().toISOString(), texts }));
  }

  private async applyShared(value: string): Promise<void> {
    const texts = (JSON.parse(value) as { texts: SourceText[] }).texts;
    const r = await this.deps.groups.applyShared(texts);
    writeJsonAtomic(path.join(this.deps.home, SHARED_POLICY_FILE), texts, true);
    if (r) diag(`cluster: shared policy applied: added [${r.added}] removed [${r.removed}] restarted [${r.restarted}] updated [${r.updated}]`);
  }

  // ---- changes in etcd ----

  private changed(c: Change): void {
    const fail = (what: string) => (err: Error) => diag(`cluster: ${what}: ${err.message}`);
    if (c.key === 'policy' && c.value !== null) void this.applyShared(c.value).catch(fail('applying the shared policy'));
    else if (c.key === 'master' && c.value === null) void this.campaign().catch(fail('master campaign'));
    else if (c.key.startsWith('owners/') && c.value === null) void this.ownerGone(c.key.slice('owners/'.length), c.prev).catch(fail(`taking over ${c.key.slice(7)}`));
    else if (c.key.startsWith('events/') && c.value !== null) this.remember(c.key.slice('events/'.length), c.value);
    else if (c.key.startsWith('nodes/') && c.value !== null && c.prev === null) this.nodeCame(c.key.slice('nodes/'.length));
  }

  private remember(node: string, value: string): void {
    this.recent.push({ node, event: JSON.parse(value) as DurunEvent });
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
  }

  private localEvent(e: DurunEvent): void {
    const lease = this.membership.lease;
    if (lease && !this.closing) void this.store.put(`events/${this.cfg.node}`, JSON.stringify(e), lease).catch((err: Error) => diag(`cluster: sharing event ${e.seq}: ${err.message}`));
    if (e.type === 'checkpoint' && e.group && this.owner(e.group) === this.cfg.node) this.replicateSoon(e.group);
  }

  // ---- failover ----

  /** The owner key of a group vanished (its node's lease ended, or it handed the group over). */
  private async ownerGone(group: string, prev: string | null): Promise<void> {
    const g = this.deps.groups.spec(group);
    if (!g || !g.nodes.includes(this.cfg.node) || prev === this.cfg.node || prev === null) return;
    // A planned hand-over names its target (and a move what it brings); a lost owner is followed by the next live node in order.
    const planned = parseHandover(this.store.get(`handover/${group}`) ?? undefined);
    const next = planned?.to ?? successor(g.nodes, prev, this.live());
    if (next !== this.cfg.node) return;
    const lease = this.membership.lease;
    if (!lease || this.membership.state !== 'member' || this.takingOver.has(group) || this.closing) return;
    if ((await this.store.claim(`owners/${group}`, this.cfg.node, lease)) !== this.cfg.node) return;
    this.takingOver.add(group);
    const started = Date.now();
    // The record as it was written (a node name, or a move's JSON naming us).
    const written = this.store.get(`handover/${group}`);
    if (written && planned?.to === this.cfg.node) await this.store.release(`handover/${group}`, written);
    try {
      const why = this.deps.ckpt.restorer.unavailable(group);
      let how: string;
      if (planned?.move) {
        const r = await this.moveIn(group, g.vip, planned.move);
        how = `moved in from node ${planned.move.from} with checkpoint ${r.checkpoint} and ${planned.move.conns.length} live TCP connection(s)`;
      } else if (planned?.fresh) {
        await this.freshIn(group, g.vip, planned.fresh);
        how = 'started afresh for an upgrade';
      } else if (why === null) {
        const r = await this.deps.ckpt.restorer.restore(group);
        how = `restored from replicated checkpoint ${r.id}`;
      } else {
        await this.deps.groups.startPlaced(group);
        how = `started afresh (${why})`;
      }
      this.deps.bus.emit({ type: 'recovery-step', group, pid: null, reason: `failover from node ${prev}: ${how} on node ${this.cfg.node} in ${Date.now() - started} ms`, data: { step: 'failover', from: prev, to: this.cfg.node, ms: Date.now() - started } });
      this.replicateSoon(group);
    } catch (err) {
      this.deps.bus.emit({ type: 'recovery-step', group, pid: null, reason: `failover from node ${prev} failed on node ${this.cfg.node}: ${(err as Error).message}`, data: { step: 'failover', from: prev, to: this.cfg.node, failed: true } });
      await this.store.release(`owners/${group}`, this.cfg.node);
    } finally {
      this.takingOver.delete(group);
    }
  }

  /** A node joined: it gets the checkpoints of the groups we own that it backs up; groups with failback = yes whose primary it is go home from here, with their state. */
  private nodeCame(node: string): void {
    for (const g of this.placedSpecs()) {
      // A backup that was away catches up now (from the chain's full image), not at the next checkpoint.
      if (node !== this.cfg.node && g.nodes.includes(node) && this.ownsHere(g.name) && !this.takingOver.has(g.name)) this.replicateSoon(g.name);
      if (!g.failback || g.nodes[0] !== node || node === this.cfg.node || !this.ownsHere(g.name) || !this.runsHere(g.name) || this.takingOver.has(g.name)) continue;
      this.takingOver.add(g.name);
      void this.handBack(g.name, node)
        .catch((err: Error) => diag(`cluster: handing ${g.name} back to ${node}: ${err.message}; it stays here`))
        .finally(() => this.takingOver.delete(g.name));
    }
  }

  /** Checkpoint, stream the chain to the primary, stop here, and release the group to it (it restores from what it just got). */
  private async handBack(group: string, to: string): Promise<void> {
    const info = this.store.get(`nodes/${to}`);
    if (!info) throw new Error(`node ${to} left again`);
    const address = (JSON.parse(info) as NodeInfo).address;
    const began = Date.now();
    const ckpt = await this.deps.ckpt.coord.checkpoint(group);
    const r = await replicate(hostPort(address), this.cfg.node, this.cfg.secret, group, this.deps.ckpt.coord.trustedGroupDir(group));
    if (r?.id !== ckpt.id) throw new Error(`node ${to} did not get checkpoint ${ckpt.id}`);
    await this.store.put(`handover/${group}`, to);
    await this.deps.stop(group);
    if (!(await this.store.release(`owners/${group}`, this.cfg.node))) throw new Error(`${group} was no longer owned by ${this.cfg.node}`);
    this.deps.bus.emit({ type: 'recovery-step', group, pid: null, reason: `failback: handed to its primary ${to} with checkpoint ${ckpt.id} (${Date.now() - began} ms)`, data: { step: 'failback', to, checkpoint: ckpt.id } });
  }

  // ---- live move between nodes (move.ts) ----

  /** `durun migrate GROUP --to NODE` on the node that owns the group. */
  async migrateTo(group: string, to: string): Promise<MigrateAnswer> {
    const g = this.deps.groups.spec(group);
    if (!g || g.nodes.length === 0) throw new Error(`group ${group} is not placed on several nodes (no nodes = in its policy)`);
    if (!g.nodes.includes(to)) throw new Error(`node ${to} is not one of ${group}'s nodes (${g.nodes.join(', ')})`);
    if (to === this.cfg.node) throw new Error(`${group} already runs on ${to}; durun migrate ${group} moves it to a new instance here`);
    if (!this.ownsHere(group) || !this.runsHere(group)) throw new Error(`this node (${this.cfg.node}) does not run ${group}; run durun migrate on its owner (${this.owner(group) ?? 'none'})`);
    const info = this.store.get(`nodes/${to}`);
    if (!info) throw new Error(`node ${to} is not a live member of the cluster`);
    const target = hostPort((JSON.parse(info) as NodeInfo).address);
    const dir = this.deps.ckpt.coord.trustedGroupDir(group);
    this.takingOver.add(group); // no failback or replication of our own meanwhile
    try {
      return await this.deps.ckpt.moveAway(group, {
        node: to,
        ship: async (checkpoint) => {
          const r = await replicate(target, this.cfg.node, this.cfg.secret, group, dir);
          if (r?.id !== checkpoint) throw new Error(`node ${to} did not get checkpoint ${checkpoint}`);
        },
        handOff: (checkpoint, conns) => this.handOver(group, { to, move: { from: this.cfg.node, checkpoint, conns } }, checkpoint),
      });
    } finally {
      this.takingOver.delete(group);
    }
  }

  /**
   * A planned hand-over (move or upgrade) once the group no longer runs
   * here: its address goes, `handover/GROUP` tells the target what to do,
   * the owner key is released; resolves with the target's `moved/GROUP`.
   */
  private async handOver(group: string, handover: Handover, token: string): Promise<Moved> {
    await this.vips.release(group);
    await this.store.put(`handover/${group}`, JSON.stringify(handover));
    if (!(await this.store.release(`owners/${group}`, this.cfg.node))) throw new Error(`${group} was no longer owned by ${this.cfg.node}`);
    for (const until = Date.now() + MOVE_IN_MS; Date.now() < until; await new Promise((r) => setTimeout(r, 5))) {
      const moved = this.store.get(`moved/${group}`);
      const m = moved ? (JSON.parse(moved) as Moved) : null;
      if (m?.checkpoint === token) return m;
    }
    throw new Error(`node ${handover.to} did not say within ${MOVE_IN_MS / 1000} s that ${group} runs there (see its supervisor.log)`);
  }

  /**
   * `durun upgrade GROUP` on its owner: the next live backup starts the
   * group afresh with the binary and policy it has now, the address
   * follows; refused when there is no live backup (the service would stop).
   */
  async upgrade(group: string): Promise<UpgradeAnswer> {
    const g = this.deps.groups.spec(group);
    if (!g || g.nodes.length === 0) throw new Error(`group ${group} is not placed on several nodes (no nodes = in its policy): upgrade it with durun restart ${group}`);
    if (!this.ownsHere(group) || !this.runsHere(group)) throw new Error(`this node (${this.cfg.node}) does not run ${group}; run durun upgrade on its owner (${this.owner(group) ?? 'none'})`);
    const to = successor(g.nodes, this.cfg.node, this.live());
    if (to === null) throw new Error(`cannot upgrade ${group} without stopping it: no live backup node (nodes = ${g.nodes.join(', ')}); start a backup first`);
    const token = `upgrade-${Date.now()}`;
    this.takingOver.add(group);
    const began = Date.now();
    try {
      await this.deps.stop(group);
      const moved = await this.handOver(group, { to, fresh: token }, token);
      const answer: UpgradeAnswer = { group, from: this.cfg.node, node: to, processes: moved.processes, downMs: Date.now() - began };
      this.deps.bus.emit({ type: 'recovery-step', group, pid: null, reason: `upgrade: started afresh on node ${to}, ${answer.downMs} ms without service`, data: { step: 'upgrade', to, downMs: answer.downMs } });
      return answer;
    } finally {
      this.takingOver.delete(group);
    }
  }

  /** The target's side of an upgrade: the address (its holder let it go), a fresh start, then tell the source. */
  private async freshIn(group: string, vip: Vip | null, token: string): Promise<void> {
    // Adopted before it is wanted: a pass that wanted it meanwhile would probe for the old holder (seconds).
    if (vip) await this.vips.adopt(group, vip);
    this.movingIn.add(group);
    try {
      await this.deps.groups.startPlaced(group);
      const procs = this.deps.registry.group(group)?.processes.filter((p) => p.state === 'running') ?? [];
      const moved: Moved = { checkpoint: token, processes: procs.map((p) => ({ pid: p.pid, innerPid: p.pid })) };
      await this.store.put(`moved/${group}`, JSON.stringify(moved), this.membership.lease ?? undefined);
    } finally {
      this.movingIn.delete(group);
    }
  }

  /** The target's side of a move: lock, address, restore (which lifts the lock), then tell the source. */
  private async moveIn(group: string, vip: Vip | null, move: MoveIn): Promise<Moved> {
    const lock = new NetLock(lockPrefix(this.deps.home), ++this.movesIn, move.conns);
    try {
      await lock.prepare();
      await lock.engage();
      // Adopted before it is wanted: a pass that wanted it meanwhile would probe for the old holder (seconds).
      if (vip) await this.vips.adopt(group, vip);
      this.movingIn.add(group);
      const r = await this.deps.ckpt.restorer.restore(group, move.checkpoint, { netUnlock: (program) => lock.tableOf(program) });
      const moved: Moved = { checkpoint: move.checkpoint, processes: r.processes };
      await this.store.put(`moved/${group}`, JSON.stringify(moved), this.membership.lease ?? undefined);
      return moved;
    } finally {
      this.movingIn.delete(group);
      await lock.release();
    }
  }

  /** Why the ladder's failover step cannot be taken for a group, or null. */
  whyNoFailover(group: string): string | null {
    const g = this.deps.groups.spec(group);
    if (!g || g.nodes.length === 0) return `group ${group} has no nodes = in its policy: it is not placed on several nodes`;
    if (this.owner(group) !== this.cfg.node) return `this node (${this.cfg.node}) does not own ${group}`;
    const next = successor(g.nodes, this.cfg.node, this.live());
    return next === null ? `no live backup node for ${group} (nodes = ${g.nodes.join(', ')})` : null;
  }

  /** The ladder's failover step: stop the group here and hand it to the next live backup, which restores it from its replica. */
  async failover(group: string): Promise<void> {
    const why = this.whyNoFailover(group);
    if (why) throw new Error(why);
    await this.deps.stop(group);
    if (!(await this.store.release(`owners/${group}`, this.cfg.node))) throw new Error(`${group} was no longer owned by ${this.cfg.node}`);
  }

  // ---- replication ----

  private replicateSoon(group: string): void {
    if (this.syncing.has(group)) {
      this.syncing.set(group, true);
      return;
    }
    this.syncing.set(group, false);
    void this.replicateAll(group).finally(() => {
      const again = this.syncing.get(group);
      this.syncing.delete(group);
      if (again) this.replicateSoon(group);
    });
  }

  private async replicateAll(group: string): Promise<void> {
    const g = this.deps.groups.spec(group);
    if (!g) return;
    const dir = this.deps.ckpt.coord.trustedGroupDir(group);
    const nodes = new Map(this.store.under('nodes/').map(([n, v]) => [n, JSON.parse(v) as NodeInfo]));
    for (const target of g.nodes) {
      const info = nodes.get(target);
      if (target === this.cfg.node || !info) continue;
      const began = Date.now();
      try {
        const r = await replicate(hostPort(info.address), this.cfg.node, this.cfg.secret, group, dir);
        if (!r) continue;
        const replica: Replica = { id: r.id, storedAt: new Date().toISOString(), lagMs: Date.now() - began };
        await this.store.put(`replicas/${group}/${target}`, JSON.stringify(replica));
        diag(`cluster: ${group} checkpoint ${r.id} on ${target} (${r.sent.length} sent, ${r.bytes} bytes, ${replica.lagMs} ms)`);
      } catch (err) {
        diag(`cluster: replicating ${group} to ${target}: ${(err as Error).message}`);
      }
    }
  }

  // ---- status and shutdown ----

  status(): ClusterStatus {
    const live = this.live();
    const nodes = this.store.under('nodes/').map(([, v]) => JSON.parse(v) as NodeInfo);
    const groups = this.deps.groups.status().groups.map((n) => this.deps.groups.spec(n)!).filter((g) => g && g.nodes.length > 0).map((g) => {
      const owner = this.owner(g.name);
      return {
        group: g.name, nodes: g.nodes, owner, roles: Object.fromEntries(roles({ nodes: g.nodes, owner, live })),
        vip: g.vip && { address: vipText(g.vip), held: this.vips.holds(g.name), problem: this.vips.problems.get(g.name) ?? null },
        replicas: Object.fromEntries(this.store.under(`replicas/${g.name}/`).map(([n, v]) => [n, JSON.parse(v) as Replica])),
      };
    });
    return {
      name: this.cfg.name, node: this.cfg.node, endpoints: this.cfg.endpoints, state: this.membership.state, master: this.store.get('master'),
      lease: { id: this.membership.leaseId, ttlSeconds: this.cfg.leaseSeconds, validForMs: Math.max(0, this.membership.validUntil - Date.now()) },
      nodes, groups,
    };
  }

  /** This node's role for each group placed on it, for `durun ps`. */
  psView(): PsCluster {
    const live = this.live();
    const mine = this.placedSpecs().map((g) => [g.name, roles({ nodes: g.nodes, owner: this.owner(g.name), live }).get(this.cfg.node) ?? 'offline'] as const);
    return { name: this.cfg.name, node: this.cfg.node, master: this.store.get('master'), roles: Object.fromEntries(mine) };
  }

  events(): ClusterEvent[] {
    return [...this.recent];
  }

  /** Shutdown: groups this node owns are stopped first (a backup takes them over), then the lease ends at once. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.vipTimer) clearInterval(this.vipTimer);
    for (const g of this.placedSpecs()) {
      if (this.owner(g.name) === this.cfg.node) await this.deps.stop(g.name).catch((err: Error) => diag(`cluster: stopping ${g.name} at shutdown: ${err.message}`));
    }
    this.replicas?.close();
    await this.vips.dropAll();
    await this.membership.close(true).catch((err: Error) => diag(`cluster: revoking the lease at shutdown: ${err.message}`));
    await this.store.close();
  }
}
