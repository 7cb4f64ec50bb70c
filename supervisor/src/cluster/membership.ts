// This node's membership: a lease kept alive by our own heartbeats, and a
// deadline on our own clock. etcd3 1.1.2 reports a lost lease about 2 × TTL
// late, so we never wait for it: a heartbeat sent at t and answered with a
// live TTL proves the lease lives until at least t + TTL at etcd (it counts
// from when it received it, after t). We act as a member only until
// t + TTL - margin; past that we demote ourselves (the owner of a group
// fences it), so a backup that sees the lease expire never overlaps with us.
import type { Lease } from 'etcd3';
import type { ClusterStore } from './store.js';
import { diag } from '../diag.js';

export type MemberState = 'joining' | 'member' | 'demoted';

export interface MembershipEvents {
  /** A new lease is ours: (re)claim what this node holds. */
  joined(lease: Lease): void;
  /** Our own clock says the lease may be gone: stop acting as an owner now. */
  demoted(reason: string): void;
}

export class Membership {
  state: MemberState = 'joining';
  lease: Lease | null = null;
  leaseId: string | null = null;
  /** Until when (ms, our clock) we may act as a member. */
  validUntil = 0;
  private lastHeartbeat = 0;
  private timer: NodeJS.Timeout | null = null;
  private beating = false;
  private closed = false;

  constructor(private readonly store: ClusterStore, private readonly ttlSeconds: number, private readonly events: MembershipEvents) {}

  /** Time kept back from the lease's end for fencing (killing what we own). */
  get marginMs(): number {
    return Math.max(500, (this.ttlSeconds * 1000) / 4);
  }

  private get beatMs(): number {
    return Math.max(200, (this.ttlSeconds * 1000) / 5);
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 100);
    this.tick();
  }

  private tick(): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.state === 'member' && now > this.validUntil) this.demote(`no heartbeat answered for ${now - this.lastHeartbeat} ms (lease ${this.ttlSeconds} s)`);
    if (this.beating) return;
    if (this.state === 'member' && now - this.lastHeartbeat < this.beatMs) return;
    this.beating = true;
    const step = this.state === 'member' ? this.heartbeat() : this.join();
    step.catch((err: Error) => diag(`cluster: ${this.state === 'member' ? 'heartbeat' : 'join'} failed: ${err.message}`)).finally(() => (this.beating = false));
  }

  private async join(): Promise<void> {
    if (this.lease) {
      // The old lease may still live at etcd (a partition): end it, so nothing of ours outlives this decision.
      const old = this.lease;
      this.lease = null;
      await old.revoke().catch((err: Error) => diag(`cluster: revoking the old lease: ${err.message}`));
    }
    const sent = Date.now();
    const lease = this.store.client.lease(this.ttlSeconds, { autoKeepAlive: false });
    lease.on('lost', (err: Error) => diag(`cluster: etcd3 reports the lease lost: ${err.message}`));
    this.leaseId = await lease.grant();
    if (this.closed) {
      await lease.revoke();
      return;
    }
    this.lease = lease;
    this.lastHeartbeat = sent;
    this.validUntil = sent + this.ttlSeconds * 1000 - this.marginMs;
    this.state = 'member';
    diag(`cluster: joined with lease ${this.leaseId} (${this.ttlSeconds} s)`);
    this.events.joined(lease);
  }

  private async heartbeat(): Promise<void> {
    const lease = this.lease!;
    const sent = Date.now();
    let ttl: number;
    try {
      ttl = Number((await lease.keepaliveOnce({ deadline: new Date(sent + this.beatMs * 2) })).TTL);
    } catch (err) {
      // etcd3 throws EtcdLeaseInvalidError for an expired lease; anything else is a missed beat (the clock decides).
      if ((err as Error).name !== 'EtcdLeaseInvalidError') throw err;
      ttl = 0;
    }
    if (lease !== this.lease || this.state !== 'member') return;
    if (ttl <= 0) {
      this.demote('etcd says our lease has expired');
      return;
    }
    this.lastHeartbeat = sent;
    this.validUntil = Math.max(this.validUntil, sent + ttl * 1000 - this.marginMs);
  }

  private demote(reason: string): void {
    this.state = 'demoted';
    diag(`cluster: demoted: ${reason}`);
    this.events.demoted(reason);
    // Joining again takes a new lease; everything bound to the old one is gone by then or soon.
    this.state = 'joining';
  }

  /** Ends the heartbeats; revoke also ends the lease at once (what this node held is released). */
  async close(revoke: boolean): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const lease = this.lease;
    this.lease = null;
    if (!lease) return;
    lease.release();
    if (revoke) await lease.revoke();
  }
}
