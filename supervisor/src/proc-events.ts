// Transitions driven by interceptor links (ARCHITECTURE.md, role `proc`).
import type { Registry } from './model/registry.js';
import type { GroupRecord, ProcRecord } from './model/types.js';
import type { ProcHello, ProcMessage } from './protocol/messages.js';
import type { RunnerEvents } from './runner-events.js';
import { decodeWaitStatus, hasInterceptor, isRunning, readExe, readStat } from './procfs.js';
import { refreshUnlinked } from './watch.js';
import { loadsInterceptor } from './elf-interp.js';
import { proveDescendant } from './proof.js';
import { proveRecord } from './link-up.js';
import { diag } from './diag.js';

/** How long a new image has to register after `exec` before we call it un-preloaded (static, setuid). */
const EXEC_REGISTER_MS = 300;
/** How long we wait for a parent's `reaped` report after a link broke and the process is gone. */
const REAP_REPORT_MS = 200;
/** How long a live, linked parent's `reaped` report is waited for (it may be parked at a checkpoint barrier). */
const PARENT_REPORT_MS = 15_000;
/** A `fork` report read this long after the child's record ended is a late report of that child, not a new process. */
const FORK_REPORT_LATE_MS = 2000;

/** Announced execs of children gone before their parent's `fork` report was read, kept per link at most this many. */
const ANNOUNCED_KEEP = 64;

/**
 * State one interceptor link carries between its messages. announced: execs
 * its silent fork children announced on it (`exec` with their own pid)
 * before the parent's `fork` report of them arrived, applied when it does.
 */
export interface ProcLinkState {
  pid: number; group: string; program: number; exiting: boolean; execing: boolean;
  announced?: Map<number, AnnouncedExec>;
  /** The link's pid was found in its program's runner tree (at its first announce). */
  inTree?: boolean;
}

type AnnouncedExec = Extract<ProcMessage, { op: 'exec' }>;

export class ProcEvents {
  /** A process said its group is ready (op `ready`); main.ts hands it to the policy groups' start. */
  onReady: (group: string, pid: number) => void = () => {};
  /** A parent reported a fork child (op `fork`); a checkpoint under way has it connect at once. */
  onForked: (group: string, pid: number) => void = () => {};
  /**
   * Fork children known from their parent's `fork` report and not yet from
   * a hello of their own (they have no link until they have something to
   * say). Their start time is unread until the next /proc scan.
   */
  private readonly reported = new WeakSet<ProcRecord>();
  constructor(private readonly registry: Registry, private readonly runners: RunnerEvents) {}

  hello(h: ProcHello): ProcLinkState {
    const group = this.registry.ensureGroup(h.group);
    const program = this.registry.program(group, h.program);
    const live = this.registry.liveProcess(h.pid);
    const link: ProcLinkState = { pid: h.pid, group: group.name, program: h.program, exiting: false, execing: false };
    if (!live && h.reason === 'callhome') {
      // A call home from a process whose end we already have (the signal met it on its way out) is not a new process.
      const prior = this.registry.findProcess(group, h.pid);
      if (prior && prior.endedAt !== null && Date.now() - prior.endedAt < FORK_REPORT_LATE_MS) return link;
    }
    // A new image right after its `exec`, or a process whose start time was never read (a
    // fork child its parent reported, or one that said hello first), is taken as the same
    // process: spare the /proc read. So is a pid we have no record of: a new record's start
    // time is left for the next /proc scan (every fork+exec would read /proc otherwise).
    const known = live !== undefined && ((live.rec.pendingExec !== null && h.reason === 'load') || live.rec.startTime === null);
    const startTime = known || !live ? live?.rec.startTime ?? null : readStat(h.pid)?.startTime ?? null;
    if (live && live.rec.startTime === startTime) {
      // Same process: a new image after exec, a reported fork child's first word, or a call-home after a supervisor restart.
      const rec = live.rec;
      if (this.reported.delete(rec)) rec.cwd = h.cwd;
      if (!rec.preloaded && !rec.pendingExec) {
        // First seen by the /proc scan before its hello arrived.
        Object.assign(rec, { exe: h.exe, argv: h.argv, cwd: h.cwd, execCount: h.execCount, preloaded: true, startedAt: h.startedAt });
        rec.execChain = [{ path: h.exe, argv: h.argv, at: h.startedAt }];
        this.registry.recordLaunch(group, program, rec);
      } else if (h.reason === 'load' && (rec.pendingExec || h.execCount > rec.execCount)) {
        rec.execChain.push({ path: h.exe, argv: h.argv, at: Date.now() });
        rec.exe = h.exe;
        rec.argv = h.argv;
        rec.execCount = h.execCount;
        rec.cwd = h.cwd;
        rec.preloaded = true;
      }
      rec.pendingExec = null;
      this.registry.changed();
    } else {
      const rec: ProcRecord = {
        pid: h.pid, ppid: h.ppid, exe: h.exe, argv: h.argv, cwd: h.cwd, execCount: h.execCount,
        state: 'running', exitStatus: null, signal: null, startedAt: h.startedAt, endedAt: null,
        program: h.program, instance: h.instance, preloaded: true, startTime,
        execChain: [{ path: h.exe, argv: h.argv, at: h.startedAt }], pendingExec: null, plannedExit: null,
      };
      this.registry.addProcess(group, rec);
      if (h.reason !== 'callhome' && h.reason !== 'restore') this.registry.recordLaunch(group, program, rec);
    }
    return link;
  }

  message(link: ProcLinkState, msg: ProcMessage): void {
    const group = this.registry.group(link.group);
    if (!group) return;
    switch (msg.op) {
      case 'exec': {
        if (msg.pid !== link.pid) return this.announcedExec(group, link, msg);
        const rec = this.registry.liveProcess(msg.pid)?.rec;
        if (rec) rec.pendingExec = { path: msg.path, argv: msg.argv, at: Date.now() };
        link.execing = true;
        return;
      }
      case 'exec-failed': {
        if (msg.pid !== link.pid) return this.announcedExecFailed(group, link, msg.pid);
        const rec = this.registry.liveProcess(msg.pid)?.rec;
        if (rec) rec.pendingExec = null;
        link.execing = false;
        return;
      }
      case 'fork': {
        const rec = this.forked(group, msg.pid, msg.child);
        const early = link.announced?.get(msg.child);
        if (early) {
          link.announced!.delete(msg.child);
          if (rec && msg.pid === link.pid) this.applyAnnounced(group, rec, early);
        }
        return;
      }
      case 'exit': {
        const rec = this.registry.liveProcess(msg.pid)?.rec;
        if (rec) rec.plannedExit = msg.status;
        if (msg.pid === link.pid) {
          link.exiting = true;
          // A silent fork child may hold a copy of this link until it speaks or execs: the
          // link's close is then late, so the end is also looked for in /proc.
          setTimeout(() => this.endedWithLinkOpen(link), EXEC_REGISTER_MS).unref();
        }
        return;
      }
      case 'reaped':
        return this.reaped(group, msg.child, msg.pid, msg.status ?? null, msg.signal ?? null);
      case 'ready':
        return this.onReady(link.group, msg.pid);
    }
  }

  /**
   * The last link of a pid closed: decide whether the process exited as
   * planned, exec'd, or died. Around exec a pid has two links (the old
   * image's, closed by the kernel at exec, and the new image's), and their
   * closes may be seen in either order: what the process said (`exit`,
   * `exec`) is kept on its record, not on the link that closes last.
   */
  closed(link: ProcLinkState): void {
    const entry = this.registry.liveProcess(link.pid);
    if (!entry) return;
    const { group, rec } = entry;
    // It said how it ends (`exit` comes last, just before the real _exit): no /proc read. Should a
    // signal kill it in between, the parent's `reaped` (or the runner's child-exit) corrects the record.
    if (rec.plannedExit !== null) return this.ended(group, rec, rec.plannedExit, null);
    if (rec.pendingExec) {
      setTimeout(() => this.execSettled(group, rec), EXEC_REGISTER_MS).unref();
      return;
    }
    const stat = readStat(rec.pid);
    if (stat && (rec.startTime === null || stat.startTime === rec.startTime) && stat.state !== 'Z' && stat.state !== 'X') {
      return; // alive without a link (it closed every socket it could find); /proc scanning keeps watching it
    }
    if (stat && stat.state === 'Z' && stat.exitCode !== null) {
      const { status, signal } = decodeWaitStatus(stat.exitCode);
      return this.ended(group, rec, status, signal, true);
    }
    this.awaitReapReport(group, rec, 'closed its link without an exit and is gone');
  }

  /** The /proc scan found a process without a link gone, with no report yet. */
  vanished(group: GroupRecord, rec: ProcRecord): void {
    this.awaitReapReport(group, rec, 'vanished without a link or a report');
  }

  /**
   * A process that said `exit` but whose link is still open (a silent fork
   * child holds a copy): once /proc shows it gone or a zombie, judged as if
   * the link had closed.
   */
  private endedWithLinkOpen(link: ProcLinkState): void {
    const rec = this.registry.liveProcess(link.pid)?.rec;
    if (!rec || rec.state !== 'running') return;
    const st = readStat(link.pid);
    if (st && st.state !== 'Z' && st.state !== 'X' && (rec.startTime === null || st.startTime === rec.startTime)) {
      setTimeout(() => this.endedWithLinkOpen(link), EXEC_REGISTER_MS).unref();
      return;
    }
    this.closed(link);
  }

  /**
   * A silent fork child announced its exec on its parent's link (`exec`
   * with its own pid): the new image registers only when it must speak.
   * The link's pid must be in its program's tree, and the announced pid
   * only names the record of that link's child (its `fork` report on this
   * same link made it, or will: an announce read first waits for it);
   * that record is proven like any fork child's (a walk up to the runner
   * in /proc) before anything signals it. So an announce only sets the
   * argv, exe and exec count of a record that was already believed, and
   * reads nothing from /proc (a /proc/PID/stat read costs about 0.1 ms
   * while the process execs; a fork/exec loop announces thousands a second).
   * Anything else changes nothing.
   */
  private announcedExec(group: GroupRecord, link: ProcLinkState, msg: AnnouncedExec): void {
    if (!msg.lazy) return;
    if (!this.linkInTree(group, link)) {
      diag(`${group.name}: pid ${link.pid} announced an exec of pid ${msg.pid} but is not in its program's tree; ignored`);
      return;
    }
    const live = this.registry.liveProcess(msg.pid);
    if (live) {
      if (live.group === group && live.rec.ppid === link.pid) return this.applyAnnounced(group, live.rec, msg);
      diag(`${group.name}: pid ${link.pid} announced an exec of pid ${msg.pid}, which is not its child; ignored`);
      return;
    }
    // Before the parent's `fork` report (the child ran first): kept until it arrives, never applied without it.
    link.announced ??= new Map();
    if (link.announced.size >= ANNOUNCED_KEEP) link.announced.delete(link.announced.keys().next().value!);
    link.announced.set(msg.pid, msg);
  }

  /**
   * The link's own pid descends from its program's proven runner. Walked
   * once per link (its children announce often); a refusal is not kept (a
   * runner re-attaching after a supervisor restart is proven only then).
   */
  private linkInTree(group: GroupRecord, link: ProcLinkState): boolean {
    if (!link.inTree) {
      const program = this.registry.program(group, link.program);
      link.inTree = program !== undefined && program.runnerStartTime !== null
        && proveDescendant(link.pid, { pid: program.runnerPid, startTime: program.runnerStartTime }) !== null;
    }
    return link.inTree;
  }

  private applyAnnounced(group: GroupRecord, rec: ProcRecord, msg: AnnouncedExec): void {
    rec.execChain.push({ path: msg.path, argv: msg.argv, at: Date.now() });
    rec.exe = msg.path;
    rec.argv = msg.argv;
    rec.execCount = msg.execCount ?? rec.execCount + 1;
    rec.preloaded = loadsInterceptor(msg.path);
    rec.pendingExec = null;
    this.reported.delete(rec);
    this.registry.changed();
    // Still running a moment later (most announced commands are gone by then): proven now, a walk up to
    // its runner, so that the supervisor can end it with its program even without a link; and what the
    // file said may not be what runs (a relative path, a file replaced): /proc tells.
    setTimeout(() => {
      if (rec.state !== 'running' || !isRunning(rec.pid)) return;
      if (rec.startTime === null) rec.startTime = proveRecord(this.registry, group, rec)?.startTime ?? null;
      if (rec.preloaded && !hasInterceptor(rec.pid)) {
        rec.preloaded = false;
        refreshUnlinked(this.registry, rec);
        this.registry.changed();
      }
    }, EXEC_REGISTER_MS).unref();
  }

  /** The announced exec failed: the child runs on as the copy of its parent it was. */
  private announcedExecFailed(group: GroupRecord, link: ProcLinkState, pid: number): void {
    link.announced?.delete(pid);
    const live = this.registry.liveProcess(pid);
    if (!live || live.group !== group || live.rec.ppid !== link.pid || live.rec.execChain.length < 2) return;
    const rec = live.rec;
    rec.execChain.pop();
    const before = rec.execChain[rec.execChain.length - 1]!;
    rec.exe = before.path;
    rec.argv = before.argv;
    rec.execCount = Math.max(0, rec.execCount - 1);
    this.registry.changed();
  }

  /**
   * Gone and reaped already: its reaper's report (the parent's `reaped`, the
   * runner's child-exit) is on its way. A parent that is alive and linked
   * will send it, however long it is held (parked at a checkpoint barrier,
   * a loaded machine); otherwise it is judged after REAP_REPORT_MS.
   */
  private awaitReapReport(group: GroupRecord, rec: ProcRecord, what: string, waitedMs = 0): void {
    setTimeout(() => {
      if (rec.state !== 'running') return;
      const waited = waitedMs + REAP_REPORT_MS;
      const parentReports = this.registry.liveProcess(rec.ppid)?.rec.preloaded === true && isRunning(rec.ppid);
      if (parentReports && waited < PARENT_REPORT_MS) return this.awaitReapReport(group, rec, what, waited);
      diag(`${group.name}: pid ${rec.pid} (${rec.argv.join(' ').slice(0, 60)}) ${what}; no reaped report came`);
      this.ended(group, rec, null, null);
    }, REAP_REPORT_MS).unref();
  }

  /**
   * A parent reported a fork child. The child has no link yet (it connects
   * when it has something to say, and an exec'd image registers itself), so
   * it starts as a copy of its parent. Its own hello may have come first.
   */
  private forked(group: GroupRecord, parentPid: number, child: number): ProcRecord | undefined {
    if (child <= 0) return undefined;
    const live = this.registry.liveProcess(child);
    if (live) return live.group === group ? live.rec : undefined;
    const prior = this.registry.findProcess(group, child);
    if (prior && prior.endedAt !== null && Date.now() - prior.endedAt < FORK_REPORT_LATE_MS) return undefined;
    const parent = this.registry.liveProcess(parentPid)?.rec ?? this.registry.findProcess(group, parentPid);
    if (!parent) return undefined;
    const now = Date.now();
    const rec: ProcRecord = {
      pid: child, ppid: parentPid, exe: parent.exe, argv: parent.argv, cwd: parent.cwd, execCount: parent.execCount,
      state: 'running', exitStatus: null, signal: null, startedAt: now, endedAt: null,
      program: parent.program, instance: parent.instance, preloaded: true, startTime: null,
      execChain: [{ path: parent.exe, argv: parent.argv, at: now }], pendingExec: null, plannedExit: null,
    };
    this.reported.add(rec);
    this.registry.addProcess(group, rec);
    this.registry.recordLaunch(group, this.registry.program(group, rec.program), rec);
    // No hello by then: it may have exec'd an image that cannot register (static, setuid).
    setTimeout(() => {
      if (rec.state === 'running' && this.reported.has(rec)) refreshUnlinked(this.registry, rec);
    }, EXEC_REGISTER_MS).unref();
    this.onForked(group.name, child);
    return rec;
  }

  /** A parent reaped a child: the authoritative status of that child. */
  private reaped(group: GroupRecord, child: number, parent: number, status: number | null, signal: number | null): void {
    if (this.registry.isInternal(child)) return;
    let rec = this.registry.findProcess(group, child);
    if (!rec) {
      // A child that never registered (static binary, setuid) and that we never saw exec.
      const parentRec = this.registry.findProcess(group, parent);
      rec = {
        pid: child, ppid: parent, exe: '?', argv: [], cwd: '', execCount: 0, state: 'running',
        exitStatus: null, signal: null, startedAt: Date.now(), endedAt: null,
        program: parentRec?.program ?? 0, instance: parentRec?.instance ?? 0, preloaded: false, startTime: null,
        execChain: [], pendingExec: null, plannedExit: null,
      };
      this.registry.addProcess(group, rec);
    }
    if (rec.state === 'running') return this.ended(group, rec, status, signal);
    const plannedBefore = rec.state === 'exited';
    const wasZombie = rec.state === 'zombie';
    rec.exitStatus = status;
    rec.signal = signal;
    if (signal) rec.state = 'killed';
    else if (wasZombie) rec.state = 'exited';
    this.registry.changed();
    // Ended on its word (`exit`), then killed before it got out: judged like any death by a signal.
    const program = this.registry.program(group, rec.program);
    if (plannedBefore && signal !== null && program) this.runners.noteCrash(group, program, rec.pid, rec.instance, signal);
  }

  /**
   * A process ended: records how and, if it was a crash, has its instance
   * restarted. zombie: it is seen dead but not reaped by its parent yet
   * (`ps` says so until a `reaped` or the runner tells the rest).
   */
  ended(group: GroupRecord, rec: ProcRecord, status: number | null, signal: number | null, zombie = false): void {
    const state = zombie ? 'zombie' : signal ? 'killed' : status !== null ? 'exited' : 'lost';
    this.registry.endProcess(rec, { state, status, signal });
    const program = this.registry.program(group, rec.program);
    if (program && (signal !== null || state === 'lost')) this.runners.noteCrash(group, program, rec.pid, rec.instance, signal);
  }

  /** After exec: either the new image registered (pendingExec cleared) or it could not load the interceptor. */
  private execSettled(group: GroupRecord, rec: ProcRecord): void {
    if (rec.state !== 'running' || !rec.pendingExec) return;
    const stat = readStat(rec.pid);
    if (stat && stat.state !== 'Z') {
      rec.execChain.push({ path: rec.pendingExec.path, argv: rec.pendingExec.argv, at: rec.pendingExec.at });
      rec.exe = readExe(rec.pid) ?? rec.pendingExec.path;
      rec.argv = rec.pendingExec.argv;
      rec.execCount++;
      rec.preloaded = false;
      rec.pendingExec = null;
      this.registry.changed();
      return;
    }
    const target = rec.pendingExec.path;
    rec.pendingExec = null;
    if (stat?.exitCode != null) {
      const { status, signal } = decodeWaitStatus(stat.exitCode);
      return this.ended(group, rec, status, signal);
    }
    this.awaitReapReport(group, rec, `exec'd ${target} and is gone without a word`);
  }
}
