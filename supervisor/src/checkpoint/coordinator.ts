// The checkpoint coordinator: runs one barrier per group at a time over the
// processes' links, lets the programs run on as soon as every member's state
// is captured (snapshot writers finish the images meanwhile), verifies every
// image, commits the manifest, prunes old checkpoints without breaking an
// incremental chain, and keeps the `checkpoint.interval` timers. Restore
// lives in restore.ts.
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { PrivateDirError, ensurePrivateDir } from '../private-dir.js';
import path from 'node:path';
import type { Registry } from '../model/registry.js';
import type { GroupRecord, ProcRecord } from '../model/types.js';
import type { CheckpointPolicy } from '../policy/types.js';
import { callHomeSignal } from '../signals.js';
import { diag } from '../diag.js';
import { Barrier, type MemberResult } from './barrier.js';
import { commitManifest, listManifests, pruneList, readManifest, type Manifest, type ManifestProcess } from './manifest.js';
import { RESTORE_TOOL, inspectImage, sha256File } from './images.js';
import { uncapturable } from './capturable.js';
import { captureFiles, withFiles } from './files-capture.js';
import { linkUp, proveRecord } from '../link-up.js';
import { hasInterceptor, isRunning, readUid } from '../procfs.js';
import { signalProven, type Proof } from '../proof.js';

/** How long each phase of a barrier may take before the checkpoint is aborted (DURUN_CKPT_TIMEOUT_MS overrides). */
const PHASE_TIMEOUT_MS = 10_000;

export interface CheckpointSummary {
  group: string; id: string; dir: string; createdAt: string; bytes: number; stallMs: number; dumpStallMs: number; durationMs: number;
  processes: number; kinds: string[]; parent: string | null;
}

/** A process link as the coordinator needs it. */
interface Port { pid: number; inner: number; group: string; send(msg: Record<string, unknown>, written?: () => void): void }

export class RequestError extends Error {}

/**
 * What a move (migrate.ts) does at the barrier's turns: `frozen` once every
 * member is parked, before they capture (the network lock goes up); `ended`
 * once the checkpoint is committed, with the members still parked (they are
 * killed there, their repaired sockets closing silently); `thawed` if the
 * checkpoint aborts after `frozen` (the members were let go).
 */
export interface MoveSteps { frozen(): Promise<void>; ended(id: string): Promise<void>; thawed(): Promise<void> }
export interface CheckpointOptions { full?: boolean; move?: MoveSteps }
class TransientAbort extends Error {}

/** How long the commit waits for members' ckpt-resumed words after the images are done. */
const RESUMED_WORD_MS = 500;

/** The longest hold a member saw (ms), or null when one of them did not say. */
function programStall(b: Barrier): number | null {
  const paused = [...b.members.values()].map((m) => m.pausedNs);
  return paused.every((p): p is number => p !== null) ? Math.round(Math.max(0, ...paused) / 1e6) : null;
}

/**
 * Removes checkpoint directories without a manifest: left by a supervisor
 * killed in the middle of a checkpoint (never restorable, but holding
 * process memory). Only one checkpoint of a group runs at a time, and this
 * runs before it starts, so none of them is being written.
 */
function removeUncommitted(groupDir: string): void {
  for (const name of readdirSync(groupDir)) {
    const dir = path.join(groupDir, name);
    if (!statSync(dir).isDirectory() || existsSync(path.join(dir, 'manifest.json'))) continue;
    diag(`removing ${dir}: a checkpoint that was never committed (its supervisor died while taking it)`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Tries of a checkpoint whose barrier a short-lived member broke. */
const TRIES = 3;
/** How long a member that lost its link before parking has to re-attach (a new image after exec) before it counts as ended. */
const REATTACH_GRACE_MS = 300;
/** How long a checkpoint waits for silent fork children to link up (a tight fork/exec loop keeps making new ones). */
const LINK_UP_MS = 5_000;
/** How often a writer's liveness is checked while its image is awaited, and how long its last word may lag its end. */
const WRITER_POLL_MS = 250;
const WRITER_GRACE_MS = 1_000;

export class Coordinator {
  private readonly ports = new Map<number, Port>();
  private readonly barriers = new Map<string, Barrier>();
  /**
   * Groups this supervisor has committed a checkpoint of since the last
   * abort. Any other group's next checkpoint is full: after an abort or a
   * supervisor restart, processes may track dirty pages against an image
   * that was deleted.
   */
  private readonly chained = new Set<string>();
  private readonly policies = new Map<string, CheckpointPolicy>();
  /** Groups whose memory a snapshot writer cannot copy (MADV_DONTFORK/WIPEONFORK): images are written in place. */
  private readonly inPlace = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private taken = 0;

  constructor(private readonly registry: Registry, private readonly home: string, private readonly env: NodeJS.ProcessEnv = process.env) {}

  // ---- links ----

  attach(pid: number, inner: number, group: string, send: Port['send']): void {
    this.ports.set(pid, { pid, inner, group, send });
    const b = this.barriers.get(group);
    if (!b) return;
    if (b.phase === 'stopping' && !b.members.get(pid)?.stopped) {
      // Registered while the barrier is going up (or its new image after exec did): it is part of this checkpoint.
      this.ask(b, pid, inner);
    } else if (b.phase === 'dumping' && !b.members.has(pid)) {
      // Too late for this checkpoint: held stopped until the members resume, so no image shows it half-registered.
      try {
        process.kill(pid, 'SIGSTOP');
        b.held.add(pid);
      } catch (err) {
        diag(`${group}: cannot hold ${pid} during checkpoint ${b.id}: ${(err as Error).message}`);
      }
    }
  }

  /** A parent reported a fork child, which has no link yet: during a barrier it must connect now, to join or be held. */
  forked(group: string, pid: number): void {
    const g = this.registry.group(group);
    const rec = g && this.registry.liveProcess(pid)?.rec;
    if (!this.barriers.has(group) || !g || !rec) return;
    const proof = proveRecord(this.registry, g, rec);
    if (proof && hasInterceptor(pid)) signalProven(proof, callHomeSignal(this.env), 'join a checkpoint');
  }

  /** A link closed; send tells it from a newer link of the same pid (exec). */
  detach(pid: number, send: Port['send']): void {
    const port = this.ports.get(pid);
    if (!port || port.send !== send) return;
    this.ports.delete(pid);
    const b = this.barriers.get(port.group);
    const m = b?.members.get(pid);
    // Once captured, a member may end: its image shows it as it was.
    if (!b || !m || m.captured) return;
    if (b.phase === 'stopping' && !m.stopped) {
      // Not parked yet: it exec'd (its new image re-attaches and is asked
      // again) or it ended before the barrier reached it, and then nothing of
      // it is in any image: it is no member. Never a reason to fail.
      setTimeout(() => {
        if (b.phase !== 'stopping' || this.ports.has(pid) || b.members.get(pid) !== m) return;
        if (isRunning(pid)) b.fail(`process ${pid} lost its link before it parked and did not come back (it exec'd an image that cannot load the interceptor?)`);
        else b.drop(pid);
      }, REATTACH_GRACE_MS).unref();
      return;
    }
    b.fail(`process ${pid} ended during the checkpoint`);
  }

  /** ckpt-stopped / ckpt-captured / ckpt-done / ckpt-failed from a process link. */
  message(pid: number, msg: CkptWord): void {
    const port = this.ports.get(pid);
    const b = port && this.barriers.get(port.group);
    if (!b || b.id !== msg.id) return; // a late word of an aborted checkpoint
    if (msg.op === 'ckpt-stopped') b.stopped(pid);
    else if (msg.op === 'ckpt-captured') b.captured(pid, msg.stallNs ?? 0);
    else if (msg.op === 'ckpt-resumed') b.resumed(pid, msg.pausedNs ?? 0);
    else this.result(b, pid, msg, `process ${pid}`);
  }

  /**
   * A snapshot writer said hello (its first act): it is durun's own, never a
   * process of the program, and from now on its end without a last word
   * fails the checkpoint.
   */
  writerHello(group: string, id: string, inner: number, pid: number): void {
    this.registry.markInternal(pid);
    const b = this.barriers.get(group);
    const m = b && b.id === id ? [...b.members.values()].find((x) => x.inner === inner) : undefined;
    if (m) m.writer = pid;
  }

  /** ckpt-done / ckpt-failed from the snapshot writer of the member that sees itself as `inner`. */
  writerMessage(group: string, inner: number, msg: CkptWord): void {
    const b = this.barriers.get(group);
    const m = b && b.id === msg.id ? [...b.members.values()].find((x) => x.inner === inner) : undefined;
    if (b && m) this.result(b, m.pid, msg, `the image writer of process ${m.pid}`);
  }

  private result(b: Barrier, pid: number, msg: CkptWord, who: string): void {
    if (msg.op === 'ckpt-done') b.done(pid, { bytes: msg.bytes ?? 0, kind: msg.kind === 'incremental' ? 'incremental' : 'full', stallNs: msg.stallNs ?? 0 } satisfies MemberResult);
    else if (msg.op === 'ckpt-failed') {
      if (msg.retryInPlace) {
        // Its memory cannot be copied by a fork: from now on this group's images are written in place.
        this.inPlace.add(b.group);
        b.transient = true;
      }
      b.fail(`${who} could not write its image: ${msg.error ?? 'no reason given'}`);
    }
  }

  /** Outer pid of the process of group that sees itself as inner, or null. */
  outerOf(group: string, inner: number): number | null {
    for (const p of this.ports.values()) if (p.group === group && p.inner === inner && p.inner !== p.pid) return p.pid;
    return null;
  }

  /** Inner pid a process sees, for a process registered from inside a pid namespace. */
  innerOf(pid: number): number {
    return this.ports.get(pid)?.inner ?? pid;
  }

  // ---- policy ----

  setPolicy(group: string, p: CheckpointPolicy | null): void {
    const old = this.timers.get(group);
    if (old) clearInterval(old);
    this.timers.delete(group);
    if (!p) {
      this.policies.delete(group);
      return;
    }
    this.policies.set(group, p);
    if (p.intervalMs) {
      const t = setInterval(() => {
        const g = this.registry.group(group);
        if (!g || g.state !== 'running' || this.barriers.has(group)) return;
        this.checkpoint(group).catch((err: Error) => diag(`${group}: periodic checkpoint failed: ${err.message}`));
      }, p.intervalMs);
      t.unref();
      this.timers.set(group, t);
    }
  }

  groupDir(group: string): string {
    const dir = this.policies.get(group)?.dir;
    return dir ? path.join(dir, group) : path.join(this.home, 'checkpoints', group);
  }

  /**
   * The group's checkpoint directory, created if needed, refused unless it
   * and checkpoint.dir are this user's alone (private-dir.ts): images hold
   * process memory, and what is found there is restored as this user.
   */
  trustedGroupDir(group: string): string {
    const dir = this.groupDir(group);
    try {
      ensurePrivateDir(dir, `the checkpoint directory of ${group}`);
    } catch (err) {
      if (err instanceof PrivateDirError) throw new RequestError(err.message);
      throw err;
    }
    return dir;
  }

  list(group: string): CheckpointSummary[] {
    return listManifests(this.groupDir(group)).map(({ dir, manifest }) => summary(manifest, dir));
  }

  /** The newest committed checkpoint (or the one named), with its directory. */
  find(group: string, id?: string): { dir: string; manifest: Manifest } {
    const all = listManifests(this.trustedGroupDir(group));
    if (id) {
      const hit = all.find((c) => c.manifest.id === id);
      if (hit) return hit;
      // A damaged manifest is not listed: say what is wrong with it rather than that it does not exist.
      try {
        readManifest(path.join(this.groupDir(group), path.basename(id)));
      } catch (err) {
        throw new RequestError((err as Error).message);
      }
      throw new RequestError(`group ${group} has no checkpoint ${id} in ${this.groupDir(group)}; durun checkpoints ${group} lists them`);
    }
    const last = all[all.length - 1];
    if (!last) throw new RequestError(`group ${group} has no checkpoint in ${this.groupDir(group)}; take one with: durun checkpoint ${group}`);
    return last;
  }

  // ---- the barrier ----

  /** Takes a checkpoint; one aborted only because a member ended before any image was written is tried again (3 tries). */
  async checkpoint(name: string, opts: CheckpointOptions = {}): Promise<CheckpointSummary> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(name, opts);
      } catch (err) {
        if (!(err instanceof TransientAbort) || attempt >= TRIES) throw err instanceof TransientAbort ? new RequestError(err.message) : err;
      }
    }
  }

  private async once(name: string, opts: CheckpointOptions): Promise<CheckpointSummary> {
    const group = this.registry.group(name);
    if (!group) throw new RequestError(`unknown group "${name}"`);
    if (this.barriers.has(name)) throw new RequestError(`a checkpoint of ${name} is already under way`);
    // durun-restore's own processes (namespace init, parent stand-ins) are scaffolding, not the program.
    const procs = await this.linkedMembers(group);
    if (procs.length === 0) throw new RequestError(`group ${name} has no running process to checkpoint`);
    if (this.barriers.has(name)) throw new RequestError(`a checkpoint of ${name} is already under way`);
    for (const p of procs) {
      const uid = readUid(p.pid);
      if (p.preloaded && this.ports.has(p.pid)) {
        // Linked before it dropped its privileges (preload/privdrop.c): it could take part in the barrier, but
        // it writes its own image from its signal handler, into this supervisor's private directory.
        if (uid !== null && uid !== process.getuid!()) {
          throw new RequestError(`cannot checkpoint ${name}: process ${p.pid} (${p.exe}) dropped its privileges to uid ${uid} after it started; it stays linked and supervised, but it cannot write its image into this supervisor's private checkpoint directory, and restoring a process's credentials is not supported yet`);
        }
        continue;
      }
      if (uid !== null && uid !== process.getuid!()) {
        throw new RequestError(`cannot checkpoint ${name}: process ${p.pid} (${p.exe}) runs as uid ${uid} (user = in its policy), and its interceptor cannot reach this supervisor's socket, which is private to uid ${process.getuid!()}; checkpoint such a program with a supervisor of its own user (DURUN_HOME of that user)`);
      }
      throw new RequestError(`cannot checkpoint ${name}: process ${p.pid} (${p.exe}) has no interceptor link (static or setuid binary?), so its state cannot be captured`);
    }
    const why = uncapturable(procs.map((p) => p.pid), (pid) => procs.find((p) => p.pid === pid)?.exe ?? '?');
    if (why) throw new RequestError(`cannot checkpoint ${name}: ${why}`);
    const started = Date.now();
    this.taken++;
    const id = this.newId(name);
    const groupDir = this.trustedGroupDir(name);
    removeUncommitted(groupDir);
    const dir = path.join(groupDir, id);
    mkdirSync(dir, { mode: 0o700 });
    // A full image starts a new chain once the current one is as long as
    // checkpoint.keep, so pruning can drop the old chain as a whole.
    // A move always chains onto the pre-copy it follows (migrate.ts): its freeze is as short as its image.
    const move = opts.move;
    const full = opts.full === true || !this.chained.has(name) || (!move && this.chainLength(name) >= (this.policies.get(name)?.keep ?? 3));
    const b = new Barrier(name, id, dir, full, move !== undefined);
    this.barriers.set(name, b);
    let frozen = false;
    const timeout = Number(this.env.DURUN_CKPT_TIMEOUT_MS) || PHASE_TIMEOUT_MS;
    try {
      for (const p of procs) this.ask(b, p.pid, this.innerOf(p.pid));
      await b.until(() => b.allStopped(), timeout, `processes ${b.missing('stopped')} did not stop`);
      await this.fault('delay-go');
      // Processes that registered meanwhile joined: they must be parked too.
      await b.until(() => b.allStopped(), timeout, `processes ${b.missing('stopped')} did not stop`);
      if (move) {
        frozen = true;
        await move.frozen();
      }
      b.phase = 'dumping';
      for (const m of b.members.values()) this.ports.get(m.pid)?.send({ op: 'ckpt-go', id });
      await b.until(() => b.allCaptured(), timeout, `processes ${b.missing('captured')} did not capture their state`);
      await this.fault('delay-resume');
      // Files now, while no member runs: they match the memory just captured.
      const last = full ? undefined : listManifests(this.groupDir(name)).pop()?.manifest;
      const files = await captureFiles({
        dir, pids: [...b.members.keys()], roots: this.policies.get(name)?.files ?? [], exclude: [this.home, this.groupDir(name), '/proc', '/sys', '/dev'],
        parent: last ? { id: last.id, files: last.files ?? [] } : null, noClone: this.faultSet('no-ficlone'), failHalfway: this.faultSet('files-fail'),
      });
      // A move's members stay parked: they end there once the checkpoint is committed.
      if (!move) this.resume(b);
      await this.fault('delay-commit');
      const poll = setInterval(() => this.checkWriters(b), WRITER_POLL_MS);
      try {
        await b.until(() => b.allDone(), timeout + 60_000, `processes ${b.missing('done')} did not finish their images`);
      } finally {
        clearInterval(poll);
      }
      // Each member says how long it was held once it runs again; that word is on its way by now.
      if (!move) await b.until(() => [...b.members.values()].every((m) => m.pausedNs !== null), RESUMED_WORD_MS, '').catch(() => undefined);
      const manifest = await withFiles(await this.verify(group, b, started), files, last?.id ?? null);
      await this.fault('before-commit');
      commitManifest(dir, manifest);
      this.chained.add(name);
      if (move) {
        b.phase = 'moved';
        await move.ended(id);
      }
      this.end(b);
      const s = summary(manifest, dir);
      this.registry.events.emit({ type: 'checkpoint', group: name, pid: null, reason: `checkpoint ${id}: ${b.members.size} process(es), ${manifest.bytes} bytes, stalled ${manifest.stallMs} ms`, data: { id, durationMs: manifest.durationMs, bytes: manifest.bytes, stallMs: manifest.stallMs, dumpStallMs: manifest.dumpStallMs, processes: b.members.size } });
      this.prune(name);
      return s;
    } catch (err) {
      const why = (err as Error).message;
      const committed = b.phase === 'moved';
      this.end(b);
      if (frozen && !committed) await move!.thawed();
      // A move that failed after its commit keeps its checkpoint: the group comes back from it.
      if (committed) throw new RequestError(`checkpoint ${id} of ${name} is committed, but its programs could not be ended for the move: ${why}`);
      rmSync(dir, { recursive: true, force: true });
      this.chained.delete(name);
      this.registry.events.emit({ type: 'checkpoint', group: name, pid: null, reason: `checkpoint ${id} aborted: ${why}`, data: { id, failed: true } });
      const text = `checkpoint of ${name} aborted (the previous checkpoint stays the latest): ${why}`;
      throw b.transient ? new TransientAbort(text) : new RequestError(text);
    }
  }

  /**
   * The group's live processes, each linked: fork children its parent
   * reported have no link until they speak, so they are asked to connect,
   * and asked again while a tight fork/exec loop makes new ones; a process
   * that ends meanwhile is simply not a member. What is left unlinked after
   * LINK_UP_MS cannot register (static, setuid) and is refused by the caller.
   */
  private async linkedMembers(group: GroupRecord): Promise<ProcRecord[]> {
    const deadline = Date.now() + LINK_UP_MS;
    for (;;) {
      // durun-restore's own processes (namespace init, parent stand-ins) are scaffolding, not the program.
      const procs = this.registry.liveProcessesOf(group).filter((p) => p.exe !== RESTORE_TOOL && isRunning(p.pid));
      const silent = procs.filter((p) => p.preloaded && !this.ports.has(p.pid));
      if (silent.length === 0 || Date.now() >= deadline) return procs;
      const proofs = silent.map((p) => proveRecord(this.registry, group, p)).filter((p): p is Proof => p !== null);
      await linkUp(proofs, (pid) => this.ports.has(pid), callHomeSignal(this.env), Math.max(1, deadline - Date.now()));
    }
  }

  private ask(b: Barrier, pid: number, inner: number): void {
    const m = b.add(pid, inner);
    const port = this.ports.get(pid);
    if (!port) return b.fail(`process ${pid} has no link`);
    const timeout = Number(this.env.DURUN_CKPT_TIMEOUT_MS) || PHASE_TIMEOUT_MS;
    // The handler reads the command without waiting: signal once the line is in the socket.
    // goTimeoutMs: a parked process waits that long for ckpt-go (we abort after `timeout`); timeoutMs: for release, after its image.
    // A move writes in place: its members wait parked anyway, and carry their TCP connections live (liveTcp).
    port.send({ op: 'ckpt', id: b.id, image: m.image, full: b.full, snapshot: !b.move && !this.inPlace.has(b.group), liveTcp: b.move, goTimeoutMs: timeout + 5_000, timeoutMs: timeout + 60_000 }, () => {
      if (b.phase === 'ended') return;
      try {
        process.kill(pid, callHomeSignal(this.env));
      } catch (err) {
        // Ended before the barrier reached it (a tight loop's short-lived child): nothing of it is in any image.
        if ((err as NodeJS.ErrnoException).code === 'ESRCH' && b.phase === 'stopping') b.drop(pid);
        else b.fail(`cannot signal process ${pid}: ${(err as Error).message}`);
      }
    });
  }

  /** Every member is captured: the programs run on (and whoever was held at the door) while the images are finished. */
  private resume(b: Barrier): void {
    b.phase = 'writing';
    b.resumedAt = Date.now();
    this.letGo(b, 'ckpt-resume');
  }

  /** Ends the barrier; before the members resumed, an abort lets them go (and drop what they wrote in place). */
  private end(b: Barrier): void {
    if (b.phase !== 'writing') this.letGo(b, b.phase === 'moved' ? null : 'ckpt-abort');
    b.phase = 'ended';
    this.barriers.delete(b.group);
  }

  /** The members run again on `word` (none after a move: they were ended), and whoever was held at the door with them. */
  private letGo(b: Barrier, word: 'ckpt-resume' | 'ckpt-abort' | null): void {
    if (word) for (const m of b.members.values()) this.ports.get(m.pid)?.send({ op: word, id: b.id });
    for (const pid of b.held) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // ended meanwhile: nothing to resume
      }
    }
    b.held.clear();
  }

  /**
   * A writer that is gone without its last word (killed, out of memory)
   * fails the checkpoint now rather than at the timeout; its last word may
   * lag its end by WRITER_GRACE_MS.
   */
  private checkWriters(b: Barrier): void {
    const now = Date.now();
    for (const m of b.members.values()) {
      if (m.result || !m.writer || isRunning(m.writer)) continue;
      m.writerGoneAt ??= now;
      if (now - m.writerGoneAt >= WRITER_GRACE_MS) b.fail(`the image writer ${m.writer} of process ${m.pid} ended without finishing its image`);
    }
  }

  /** Every image complete and valid; builds the manifest. */
  private async verify(group: GroupRecord, b: Barrier, started: number): Promise<Manifest> {
    let parent: string | null = null;
    // Members in parallel, and each image's engine check and SHA-256 at once: the commit waits for this.
    const processes: ManifestProcess[] = await Promise.all([...b.members.values()].map(async (m) => {
      const rec = this.registry.liveProcess(m.pid)?.rec ?? this.registry.findProcess(group, m.pid);
      const [head, sha256] = await Promise.all([inspectImage(m.image), sha256File(m.image)]);
      const st = statSync(m.image);
      chmodSync(m.image, 0o600);
      const exe = rec?.exe ?? '';
      let exeSize = 0;
      let exeMtimeMs = 0;
      try {
        const es = statSync(exe);
        exeSize = es.size;
        exeMtimeMs = es.mtimeMs;
      } catch {
        // a deleted binary: restore refuses it by the engine's own check
      }
      if (head.parentPath) {
        const committed = readManifest(path.dirname(head.parentPath));
        if (!committed?.processes.some((p) => p.image === head.parentPath)) {
          throw new Error(`image ${m.image} chains onto ${head.parentPath}, which is not part of a committed checkpoint`);
        }
        parent ??= committed.id;
      }
      return {
        // pid and ppid as the process sees them (its image's header), so a restored group checkpoints again alike.
        pid: m.pid, innerPid: head.pid || m.inner, ppid: head.ppid, program: rec?.program ?? 0, exe, exeSize, exeMtimeMs,
        image: m.image, sha256, bytes: st.size, kind: head.kind, parentImage: head.parentPath,
        stallNs: m.result!.stallNs,
      };
    }));
    const programs = group.programs.filter((p) => processes.some((q) => q.program === p.id)).map((p) => ({
      id: p.id, argv: p.argv, cwd: p.cwd, restart: p.restart, options: p.options, env: readEnv(processes.find((q) => q.program === p.id)!.pid),
    }));
    const barrierMs = (b.resumedAt ?? Date.now()) - (b.firstStoppedAt ?? started);
    return {
      version: 1, group: group.name, id: b.id, parent, createdAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      // How long the programs were held as they saw it: the longest from a member's signal to its threads running
      // again; the barrier's own window (first parked to let go) where a member did not say.
      stallMs: programStall(b) ?? barrierMs,
      barrierMs,
      dumpStallMs: Math.round(Math.max(0, ...processes.map((p) => p.stallNs)) / 1e6),
      bytes: processes.reduce((n, p) => n + p.bytes, 0), programs, processes,
    };
  }

  private prune(group: string): void {
    const keep = this.policies.get(group)?.keep ?? 3;
    const all = listManifests(this.groupDir(group));
    for (const id of pruneList(all.map((c) => c.manifest), keep)) {
      rmSync(path.join(this.groupDir(group), id), { recursive: true, force: true });
    }
  }

  /** Checkpoints in the newest one's chain (itself included). */
  private chainLength(group: string): number {
    const all = new Map(listManifests(this.groupDir(group)).map((c) => [c.manifest.id, c.manifest]));
    let n = 0;
    for (let cur = [...all.values()].pop(); cur; cur = cur.parent ? all.get(cur.parent) : undefined) n++;
    return n;
  }

  private newId(group: string): string {
    const base = new Date().toISOString().replace(/[-:]/g, '').replace('.', '-').replace('Z', '');
    let id = base;
    for (let n = 1; listManifests(this.groupDir(group)).some((c) => c.manifest.id === id) || this.exists(group, id); n++) id = `${base}-${n}`;
    return id;
  }

  private exists(group: string, id: string): boolean {
    try {
      statSync(path.join(this.groupDir(group), id));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Fault injection for tests, from DURUN_FAULT (comma-separated):
   * `supervisor:before-commit[@N]` SIGKILLs the supervisor after the images
   * of its N-th checkpoint are verified, before the manifest is written;
   * `supervisor:delay-go=MS` / `supervisor:delay-resume=MS` hold the barrier
   * that long with every member parked (still joinable) / every member
   * captured (late registrations are held), so tests can register processes
   * then; `supervisor:delay-commit=MS` waits that long after the members
   * resumed, before the images are awaited; `supervisor:no-ficlone` (faultSet).
   */
  private async fault(point: 'before-commit' | 'delay-go' | 'delay-resume' | 'delay-commit'): Promise<void> {
    for (const arg of this.faults(point)) {
      if (point === 'before-commit') {
        diag(`fault injection: SIGKILL at ${point} of checkpoint ${this.taken}`);
        process.kill(process.pid, 'SIGKILL');
      }
      diag(`fault injection: ${point} ${arg ?? 0} ms in checkpoint ${this.taken}`);
      await new Promise((r) => setTimeout(r, Number(arg ?? 0)));
    }
  }

  /**
   * `supervisor:no-ficlone`: files are copied even where the filesystem could
   * clone them (tests of the copy path); `supervisor:files-fail[@N]`: the
   * file capture fails after its first copy (the checkpoint aborts).
   */
  private faultSet(point: 'no-ficlone' | 'files-fail'): boolean {
    return this.faults(point).length > 0;
  }

  /** The DURUN_FAULT entries for this point and this checkpoint: their `=ARG` (undefined when none). */
  private faults(point: string): Array<string | undefined> {
    const out: Array<string | undefined> = [];
    for (const f of (this.env.DURUN_FAULT ?? '').split(',')) {
      const m = /^supervisor:([a-z-]+)(?:=(\d+))?(?:@(\d+))?$/.exec(f.trim());
      if (m && m[1] === point && (!m[3] || Number(m[3]) === this.taken)) out.push(m[2]);
    }
    return out;
  }
}

/** The ckpt-* words of a process or writer link. */
export interface CkptWord { op: string; id: string; bytes?: number; kind?: string; stallNs?: number; pausedNs?: number; error?: string; retryInPlace?: boolean }

function readEnv(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  try {
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
  } catch {
    // gone or not ours: the image has the environment anyway
  }
  return env;
}

export function summary(m: Manifest, dir: string): CheckpointSummary {
  return {
    group: m.group, id: m.id, dir, createdAt: m.createdAt, bytes: m.bytes, stallMs: m.stallMs, dumpStallMs: m.dumpStallMs ?? m.stallMs, durationMs: m.durationMs,
    processes: m.processes.length, kinds: m.processes.map((p) => p.kind), parent: m.parent,
  };
}
