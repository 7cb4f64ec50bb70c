// The cluster's shared state in etcd, under /durun/NAME/: one client, a
// cache of every key kept current by one prefix watch, and the few
// transactions the cluster needs. etcd3 (and its gRPC stack, ~100 ms and
// tens of MiB) is imported only in cluster mode.
import type { Etcd3, Lease, Watcher, IKeyValue } from 'etcd3';
import type { ClusterConfig } from './config.js';
import { diag } from '../diag.js';

/** What a node announces under nodes/NAME (bound to its lease). */
export interface NodeInfo { node: string; address: string; pid: number; since: string; lease: string }

/** A key that changed: its new value (null: deleted) and the value it had before. */
export type Change = { key: string; value: string | null; prev: string | null };

export class ClusterStore {
  readonly prefix: string;
  /** Every key under the prefix (without it), as last seen. */
  readonly cache = new Map<string, { value: string; lease: string; createRevision: string }>();
  private watcher: Watcher | null = null;

  private constructor(readonly client: Etcd3, cfg: ClusterConfig) {
    this.prefix = `/durun/${cfg.name}/`;
  }

  static async connect(cfg: ClusterConfig): Promise<ClusterStore> {
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({
      hosts: cfg.endpoints,
      ...(cfg.etcdTls ? { credentials: { rootCertificate: cfg.etcdTls.ca, certChain: cfg.etcdTls.cert, privateKey: cfg.etcdTls.key } } : {}),
      ...(cfg.etcdAuth ? { auth: cfg.etcdAuth } : {}),
      dialTimeout: 2000,
    });
    return new ClusterStore(client, cfg);
  }

  /** Loads every key, then follows changes (onChange after the cache is updated). */
  async follow(onChange: (c: Change) => void, onError: (err: Error) => void): Promise<void> {
    const all = await this.client.getAll().prefix(this.prefix).exec();
    for (const kv of all.kvs) this.remember(kv);
    const next = BigInt(all.header.revision) + 1n;
    this.watcher = await this.client.watch().prefix(this.prefix).startRevision(next.toString()).create();
    this.watcher.on('put', (kv) => {
      const prev = this.get(kv.key.toString().slice(this.prefix.length));
      const key = this.remember(kv);
      onChange({ key, value: kv.value.toString(), prev });
    });
    this.watcher.on('delete', (kv) => {
      const key = kv.key.toString().slice(this.prefix.length);
      const prev = this.get(key);
      this.cache.delete(key);
      onChange({ key, value: null, prev });
    });
    this.watcher.on('error', onError);
  }

  private remember(kv: IKeyValue): string {
    const key = kv.key.toString().slice(this.prefix.length);
    this.cache.set(key, { value: kv.value.toString(), lease: kv.lease, createRevision: kv.create_revision });
    return key;
  }

  get(key: string): string | null {
    return this.cache.get(key)?.value ?? null;
  }

  /** Keys (without the prefix) that start with sub. */
  under(sub: string): Array<[string, string]> {
    return [...this.cache].filter(([k]) => k.startsWith(sub)).map(([k, v]) => [k.slice(sub.length), v.value]);
  }

  async put(key: string, value: string, lease?: Lease): Promise<void> {
    await (lease ? lease.put(this.prefix + key) : this.client.put(this.prefix + key)).value(value).exec();
  }

  /**
   * Creates key = value bound to lease if no one holds it, or re-binds it to
   * lease if it already says value (our own, from an earlier lease). Then
   * reads it back and compares the create revision, so a simultaneous
   * campaign is settled by etcd's order, not by a client-side observer.
   * Returns the holder's value.
   */
  async claim(key: string, value: string, lease: Lease): Promise<string | null> {
    const full = this.prefix + key;
    const created = await this.client.if(full, 'Create', '==', 0).then(lease.put(full).value(value)).commit();
    if (!created.succeeded) {
      await this.client.if(full, 'Value', '==', value).then(lease.put(full).value(value)).commit();
    }
    const res = await this.client.get(full).exec();
    const kv = res.kvs[0];
    if (!kv) return null;
    this.remember(kv);
    return kv.value.toString();
  }

  /** Deletes key only while it still says value. */
  async release(key: string, value: string): Promise<boolean> {
    const full = this.prefix + key;
    const res = await this.client.if(full, 'Value', '==', value).then(this.client.delete().key(full)).commit();
    return res.succeeded;
  }

  async close(): Promise<void> {
    await this.watcher?.cancel().catch((err: Error) => diag(`cluster: cancelling the etcd watch: ${err.message}`));
    this.client.close();
  }
}
