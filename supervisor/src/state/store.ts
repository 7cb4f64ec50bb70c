// The checkpoint API's store: per scope (an active/standby pair, or a group
// on its own), the newest record of each key across the destinations it was
// saved to. memory: this supervisor's heap; disk: DiskTier (durable); peer:
// the pair's standby, through a PeerChannel (same node: held here for it;
// a standby on another node would get a channel that sends it there);
// null: nothing. A save with a timestamp not later than the key's newest is
// ignored; the answer says so.
import type { StateDestination } from '../policy/types.js';
import { DiskTier } from './disk.js';
import { newer, type StateRecord } from './records.js';

/** Where a pair's standby keeps what its active saves. */
export interface PeerChannel {
  /** Resolves once the standby holds the record (null: the key is removed there). */
  deliver(scope: string, key: string, rec: StateRecord | null): Promise<void>;
  /** What the standby holds for the scope. */
  held(scope: string): Map<string, StateRecord>;
}

/** Same-node pairs: the standby's copy is kept by this supervisor, apart from the active's own tiers. */
export class LocalPeer implements PeerChannel {
  private readonly scopes = new Map<string, Map<string, StateRecord>>();

  held(scope: string): Map<string, StateRecord> {
    let m = this.scopes.get(scope);
    if (!m) this.scopes.set(scope, (m = new Map()));
    return m;
  }

  deliver(scope: string, key: string, rec: StateRecord | null): Promise<void> {
    if (rec) this.held(scope).set(key, rec);
    else this.held(scope).delete(key);
    return Promise.resolve();
  }
}

export interface SaveAnswer { accepted: boolean; ts: number; destination: StateDestination }

export class StateStore {
  private readonly memory = new Map<string, Map<string, StateRecord>>();
  /** Disk records per scope, read on first use. */
  private readonly diskCache = new Map<string, Map<string, StateRecord>>();
  private readonly disk: DiskTier;

  constructor(root: string, private readonly peer: PeerChannel = new LocalPeer()) {
    this.disk = new DiskTier(root);
  }

  private tier(scope: string, dest: 'memory' | 'disk'): Map<string, StateRecord> {
    const all = dest === 'memory' ? this.memory : this.diskCache;
    let m = all.get(scope);
    if (!m) all.set(scope, (m = dest === 'disk' ? this.disk.readAll(scope) : new Map()));
    return m;
  }

  private tiers(scope: string): Array<Map<string, StateRecord>> {
    return [this.tier(scope, 'memory'), this.tier(scope, 'disk'), this.peer.held(scope)];
  }

  /** The newest record of key in any destination. */
  load(scope: string, key: string): StateRecord | undefined {
    let best: StateRecord | undefined;
    for (const t of this.tiers(scope)) {
      const r = t.get(key);
      if (r && (!best || r.ts > best.ts)) best = r;
    }
    return best;
  }

  /** ts omitted: one past the key's newest. */
  async save(scope: string, dest: StateDestination, key: string, data: Buffer, ts?: number): Promise<SaveAnswer> {
    const held = this.load(scope, key);
    const stamp = ts ?? (held?.ts ?? 0) + 1;
    if (!newer(stamp, held)) return { accepted: false, ts: held!.ts, destination: dest };
    const rec = { ts: stamp, data };
    if (dest === 'memory') this.tier(scope, 'memory').set(key, rec);
    else if (dest === 'disk') {
      this.disk.write(scope, key, rec);
      this.tier(scope, 'disk').set(key, rec);
    } else if (dest === 'peer') await this.peer.deliver(scope, key, rec);
    return { accepted: true, ts: stamp, destination: dest };
  }

  /** Removes the key everywhere; whether it was held. */
  async remove(scope: string, key: string): Promise<boolean> {
    const had = this.load(scope, key) !== undefined;
    this.tier(scope, 'memory').delete(key);
    if (this.tier(scope, 'disk').delete(key)) this.disk.remove(scope, key);
    if (this.peer.held(scope).has(key)) await this.peer.deliver(scope, key, null);
    return had;
  }

  list(scope: string): Array<{ key: string; ts: number; bytes: number }> {
    const keys = new Set(this.tiers(scope).flatMap((t) => [...t.keys()]));
    return [...keys].sort().map((key) => {
      const r = this.load(scope, key)!;
      return { key, ts: r.ts, bytes: r.data.length };
    });
  }
}
