// Checkpoint replication between supervisors: each committed checkpoint of a
// group this node owns is streamed to the group's backups over TLS with the
// cluster's shared secret as pre-shared key (TLS-PSK: both ends prove they
// hold it, and the stream is encrypted; checkpoint images hold process
// memory). Not through etcd: images are GiB, etcd values are small.
//
// Sender -> receiver, one connection per sync:
//   {"op":"offer","group":G,"chain":[ID...]}           the chain of the newest checkpoint, oldest first
//   <- {"op":"have","ids":[ID...]}                       what the receiver already holds, committed
//   per missing ID, in order: {"op":"checkpoint","id":ID,"files":[{"name":REL,"size":N}...],"manifest":N}
//     then each file's bytes, then the manifest's N bytes
//   <- {"op":"stored","id":ID} | {"op":"error","message":...}
// The receiver writes into GROUPDIR/ID.partial/, checks every image's
// SHA-256 against the manifest, renames the directory to ID and commits the
// manifest last (as a local checkpoint is committed): a broken stream leaves
// nothing restorable behind, and removeUncommitted() clears the partial.
// A backup that lacks a parent (new, or fell behind) is sent the chain from
// its full image.
import tls from 'node:tls';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import path from 'node:path';
import { StreamReader } from './stream-reader.js';
import { commitManifest, listManifests, readManifest, MANIFEST, type Manifest } from '../checkpoint/manifest.js';
import { sha256File } from '../checkpoint/images.js';
import { GROUP_NAME } from '../policy/values.js';
import { diag } from '../diag.js';

const TLS = { ciphers: 'PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const REL = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

/** Where a group's checkpoints live on this node (the coordinator's directory, private). */
export type GroupDirOf = (group: string) => string;

/** The chain the newest committed checkpoint needs, oldest (its full one) first. */
export function chainOf(groupDir: string): Manifest[] {
  const all = listManifests(groupDir).map((c) => c.manifest);
  const byId = new Map(all.map((m) => [m.id, m]));
  const chain: Manifest[] = [];
  for (let cur: Manifest | undefined = all[all.length - 1]; cur; cur = cur.parent ? byId.get(cur.parent) : undefined) chain.unshift(cur);
  return chain;
}

/** Every file of a checkpoint directory but its manifest, relative, in a stable order. */
function filesOf(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === MANIFEST || name.startsWith(`${MANIFEST}.`)) continue;
    const st = statSync(path.join(dir, name));
    if (st.isDirectory()) for (const sub of readdirSync(path.join(dir, name)).sort()) out.push(`${name}/${sub}`);
    else out.push(name);
  }
  return out;
}

const send = (s: tls.TLSSocket, m: Record<string, unknown>) => s.write(`${JSON.stringify(m)}\n`);

export interface SyncResult { id: string; sent: string[]; bytes: number }

/** Sends the newest chain of a group to one node; resolves once the receiver has committed the newest checkpoint. */
export async function replicate(to: { host: string; port: number }, identity: string, secret: Buffer, group: string, groupDir: string): Promise<SyncResult | null> {
  const chain = chainOf(groupDir);
  if (chain.length === 0) return null;
  const sock = tls.connect({ host: to.host, port: to.port, ...TLS, pskCallback: () => ({ psk: secret, identity }), checkServerIdentity: () => undefined });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('secureConnect', resolve);
      sock.once('error', reject);
    });
    const reader = new StreamReader(sock);
    send(sock, { op: 'offer', group, chain: chain.map((m) => m.id) });
    const have = await reader.line();
    if (have?.op !== 'have' || !Array.isArray(have.ids)) throw new Error(`${to.host}:${to.port} answered the offer with ${JSON.stringify(have)}`);
    const held = new Set(have.ids as string[]);
    const sent: string[] = [];
    let bytes = 0;
    for (const m of chain) {
      if (held.has(m.id)) continue;
      const dir = path.join(groupDir, m.id);
      const files = filesOf(dir).map((name) => ({ name, size: statSync(path.join(dir, name)).size }));
      const manifest = Buffer.from(JSON.stringify(m));
      send(sock, { op: 'checkpoint', id: m.id, files, manifest: manifest.length });
      for (const f of files) {
        for await (const chunk of createReadStream(path.join(dir, f.name))) {
          if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
        }
        bytes += f.size;
      }
      sock.write(manifest);
      const ans = await reader.line();
      if (ans?.op !== 'stored' || ans.id !== m.id) throw new Error(`${to.host}:${to.port} did not store checkpoint ${m.id} of ${group}: ${typeof ans?.message === 'string' ? ans.message : JSON.stringify(ans)}`);
      sent.push(m.id);
    }
    sock.end();
    return { id: chain[chain.length - 1]!.id, sent, bytes };
  } finally {
    sock.destroy();
  }
}

/** Accepts checkpoint streams from the cluster's supervisors (TLS-PSK), into this node's checkpoint directories. */
export class ReplicaServer {
  private readonly server: tls.Server;
  /** Per group, the stream being received: one at a time per group (a second waits, then finds what the first stored). */
  private readonly receiving = new Map<string, Promise<void>>();
  /** The PSK identity each connection gave (its node's name). */
  private readonly identities = new WeakMap<object, string>();
  /** Called after a checkpoint was committed here from a stream. */
  onStored: (group: string, id: string, from: string) => void = () => {};

  constructor(secret: Buffer, private readonly groupDirOf: GroupDirOf) {
    this.server = tls.createServer({ ...TLS, pskCallback: (sock, identity) => (this.identities.set(sock, identity), secret) }, (s) => {
      this.serve(s).catch((err: Error) => {
        diag(`cluster: replication stream from ${s.remoteAddress}: ${err.message}`);
        if (s.writable) send(s, { op: 'error', message: err.message });
        s.end();
      });
    });
    this.server.on('tlsClientError', (err) => diag(`cluster: replication connection refused (${err.message}): not the cluster's secret?`));
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
  }

  close(): void {
    this.server.close();
  }

  private async serve(s: tls.TLSSocket): Promise<void> {
    const from = this.identities.get(s) ?? s.remoteAddress ?? '?';
    const reader = new StreamReader(s);
    const offer = await reader.line();
    if (offer === null) return;
    const group = offer.group;
    if (offer.op !== 'offer' || typeof group !== 'string' || !GROUP_NAME.test(group) || !Array.isArray(offer.chain)) throw new Error('the stream does not start with an offer');
    const before = this.receiving.get(group) ?? Promise.resolve();
    let done!: () => void;
    const turn = new Promise<void>((resolve) => (done = resolve));
    this.receiving.set(group, before.then(() => turn));
    await before;
    try {
      await this.sync(s, reader, group, from, offer.chain as unknown[]);
    } finally {
      done();
    }
  }

  private async sync(s: tls.TLSSocket, reader: StreamReader, group: string, from: string, chain: unknown[]): Promise<void> {
    const groupDir = this.groupDirOf(group);
    const held = new Set(listManifests(groupDir).map((c) => c.manifest.id));
    send(s, { op: 'have', ids: chain.filter((id): id is string => typeof id === 'string' && held.has(id)) });
    for (;;) {
      const head = await reader.line();
      if (head === null) break;
      const id = head.id;
      if (head.op !== 'checkpoint' || typeof id !== 'string' || !ID.test(id) || !Array.isArray(head.files) || typeof head.manifest !== 'number') throw new Error(`unexpected line ${JSON.stringify(head).slice(0, 200)}`);
      await this.receive(reader, group, groupDir, id, head.files as Array<{ name: string; size: number }>, head.manifest);
      send(s, { op: 'stored', id });
      this.onStored(group, id, from);
    }
    prune(groupDir, chain.filter((id): id is string => typeof id === 'string'));
  }

  private async receive(reader: StreamReader, group: string, groupDir: string, id: string, files: Array<{ name: string; size: number }>, manifestBytes: number): Promise<void> {
    const partial = path.join(groupDir, `${id}.partial`);
    const dir = path.join(groupDir, id);
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true, mode: 0o700 });
    try {
      for (const f of files) {
        if (typeof f?.name !== 'string' || !REL.test(f.name) || !Number.isSafeInteger(f.size) || f.size < 0) throw new Error(`bad file entry ${JSON.stringify(f)}`);
        const file = path.join(partial, f.name);
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        const out = createWriteStream(file, { mode: 0o600, flags: 'wx' });
        await reader.bytes(f.size, out);
        out.end();
        await finished(out);
      }
      const m = JSON.parse((await reader.small(manifestBytes)).toString('utf8')) as Manifest;
      if (m.group !== group || m.id !== id) throw new Error(`the manifest is of ${m.group}/${m.id}, not ${group}/${id}`);
      for (const p of m.processes) {
        // Images name their parents by absolute path: every node keeps checkpoints at the same path.
        if (path.dirname(p.image) !== dir) throw new Error(`image ${p.image} of checkpoint ${id} is not under ${dir}: every node of a cluster must use the same DURUN_HOME path (and checkpoint.dir)`);
        const sum = await sha256File(path.join(partial, path.basename(p.image)));
        if (sum !== p.sha256) throw new Error(`image ${path.basename(p.image)} of checkpoint ${id} arrived with sha256 ${sum.slice(0, 16)}…, the manifest says ${p.sha256.slice(0, 16)}…`);
      }
      if (m.parent && !readManifest(path.join(groupDir, m.parent))) throw new Error(`checkpoint ${id} chains onto ${m.parent}, which this node does not hold`);
      rmSync(dir, { recursive: true, force: true });
      renameSync(partial, dir);
      commitManifest(dir, m);
    } catch (err) {
      rmSync(partial, { recursive: true, force: true });
      throw err;
    }
  }
}

/** After a sync: replicas older than the offered chain go (the chain is what restores). */
function prune(groupDir: string, chain: string[]): void {
  const first = chain[0];
  if (!first) return;
  for (const { dir, manifest } of listManifests(groupDir)) {
    if (manifest.id < first && !chain.includes(manifest.id)) rmSync(dir, { recursive: true, force: true });
  }
}
