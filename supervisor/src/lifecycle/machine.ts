// Carries out the lifecycle table (table.ts) on the process model: feeds an
// event to the rule of the program's phase, performs what the rule asks
// (signals through proven pids only, words to the runner, events), and
// records the new phase.
import type { Registry } from '../model/registry.js';
import type { GroupRecord, ProcRecord, ProgramRecord } from '../model/types.js';
import { decide, describeEnd } from '../restart-policy.js';
import { shellCode, signalName } from '../signals.js';
import { readComm, readStat } from '../procfs.js';
import { proveRunner, runnerTree, signalProven, stillHolds, type Proof } from '../proof.js';
import { diag } from '../diag.js';
import { ruleFor, type Act } from './table.js';
import { RelaunchQueue } from './relaunch-queue.js';
import { FINAL, viewState, type EventOf, type LifeEvent, type Phase } from './phases.js';

/** Starts a program afresh under a new detached runner (client-events.ts supplies it). */
export type Relauncher = (group: GroupRecord, program: ProgramRecord) => Promise<void>;

export class Lifecycle {
  /** Relaunches under way, by program record: `durun restart` waits for them. */
  private readonly relaunching = new Map<ProgramRecord, Promise<void>>();
  relaunch: Relauncher = async () => {
    throw new Error('relaunching is not wired in this supervisor');
  };
  private readonly queue = new RelaunchQueue(() => this.relaunch);
  /** Whether pid has an open interceptor link (its peer credentials proved it); set by the supervisor. */
  isLinked: (pid: number) => boolean = () => false;

  constructor(readonly registry: Registry) {}

  /** Moves a program by one event; every event meets a rule (table.ts). */
  feed(group: GroupRecord, program: ProgramRecord, ev: LifeEvent): void {
    const before = program.phase;
    const act = new ActOn(this, group, program);
    const next = ruleFor(before, ev)(act, ev);
    program.phase = next;
    program.state = viewState(next);
    if (next !== before) diag(`${group.name}/${program.id}: ${before} -> ${next} on ${ev.kind}`);
    this.registry.settle(group);
  }

  /** Resolves once a relaunch started by a rule has its runner answered (or failed). */
  relaunched(program: ProgramRecord): Promise<void> {
    return this.relaunching.get(program) ?? Promise.resolve();
  }

  /** @internal for ActOn */
  startRelaunch(group: GroupRecord, program: ProgramRecord): void {
    group.programs = group.programs.filter((p) => p !== program);
    const done = this.queue.add(group, program).finally(() => this.relaunching.delete(program));
    done.catch(() => undefined); // said in the diagnostics by the queue; `durun restart` gets the error from relaunched()
    this.relaunching.set(program, done);
  }

  /** Pids of every known runner: never a target of a program's signals. */
  runnerPids(): Set<number> {
    const out = new Set<number>();
    for (const g of this.registry.groups.values()) for (const p of g.programs) if (p.runnerPid) out.add(p.runnerPid);
    return out;
  }

  /** The program's runner, if it is provably the one that said hello (same start time, durun's binary). */
  provenRunner(program: ProgramRecord): Proof | null {
    const proof = proveRunner(program.runnerPid);
    if (typeof proof === 'string' || proof.startTime !== program.runnerStartTime) return null;
    return proof;
  }
}

/** One event's side of the table's Act: what a rule does to this program. */
class ActOn implements Act {
  readonly phase: Phase;
  constructor(private readonly lc: Lifecycle, private readonly group: GroupRecord, private readonly program: ProgramRecord) {
    this.phase = program.phase;
  }

  private get registry(): Registry {
    return this.lc.registry;
  }

  private send(msg: Record<string, unknown>): boolean {
    const port = this.registry.runner(this.group.name, this.program.id);
    port?.send(msg);
    return port !== undefined;
  }

  started(ev: EventOf<'started'>): void {
    const p = this.program;
    p.instance = ev.instance;
    p.rootPid = ev.pid;
    p.instanceStartedAt = Date.now();
    this.registry.events.emit({ type: 'process-start', group: this.group.name, pid: ev.pid, reason: `program ${p.id} instance ${ev.instance} started`, data: { program: p.id, instance: ev.instance, root: true } });
  }

  killTree(signal: number, graceMs: number): void {
    if (this.send({ op: 'kill', signal, graceMs })) return;
    // No runner link (the runner is re-attaching, or gone): signal the tree ourselves, proven pids only.
    const targets = this.provenTree();
    diag(`${this.group.name}/${this.program.id}: runner not connected; sending ${signalName(signal)} to ${targets.length} proven process(es)`);
    this.signalAll(targets, signal, graceMs);
  }

  /**
   * What provably belongs to the program: the subtree of its proven runner,
   * or, once the runner is gone, the live records whose start time still
   * matches (their pids came from peer credentials or such a walk), and
   * those known from a report whose /proc parent is still a proven member.
   */
  private provenTree(): Proof[] {
    const runner = this.lc.provenRunner(this.program);
    if (runner) {
      return runnerTree(runner.pid)
        .filter((d) => d.state !== 'Z' && !this.registry.isInternal(d.pid) && readComm(d.pid) !== 'durun-writer')
        .map((d) => ({ pid: d.pid, startTime: d.startTime }));
    }
    const proven = new Map<number, Proof>();
    const unproven: ProcRecord[] = [];
    for (const r of this.registry.liveProcessesOf(this.group, this.program.id)) {
      // A linked pid is its peer credentials: its start time is read now if the scan has not yet.
      const startTime = r.startTime ?? (this.lc.isLinked(r.pid) ? readStat(r.pid)?.startTime ?? null : null);
      if (startTime !== null) proven.set(r.pid, { pid: r.pid, startTime });
      else unproven.push(r);
    }
    // Known only from a report (a fork child, a lazy image): proven if /proc shows it still the child of a
    // proven member (level by level: a child's parent may be proven by this very walk).
    for (let grew = true; grew && unproven.length;) {
      grew = false;
      for (let i = unproven.length - 1; i >= 0; i--) {
        const r = unproven[i]!;
        const parent = proven.get(r.ppid);
        if (!parent || !stillHolds(parent)) continue;
        const st = readStat(r.pid);
        if (st && st.state !== 'Z' && st.ppid === r.ppid) {
          proven.set(r.pid, { pid: r.pid, startTime: st.startTime });
          grew = true;
        }
        unproven.splice(i, 1);
      }
    }
    return [...proven.values()];
  }

  private signalAll(targets: Proof[], signal: number, graceMs: number): void {
    const runners = this.lc.runnerPids();
    const why = `${this.group.name}/${this.program.id}`;
    for (const t of targets) signalProven(t, signal, why, runners);
    if (signal !== 9) setTimeout(() => this.signalAll(targets, 9, 0), graceMs).unref();
  }

  fault(pid: number | null, reason: string, data: Record<string, unknown>): void {
    const p = this.program;
    this.registry.events.emit({ type: 'fault', group: this.group.name, pid, reason: `program ${p.id}: ${reason}`, data: { program: p.id, instance: p.instance, ...data } });
  }

  /** What every instance end records: the exit, the end of leftover records, the process-end event. */
  private closeInstance(ev: EventOf<'instance-end'>, planned: boolean): { status: number | null; signal: number | null; at: number } {
    const p = this.program;
    const end = { status: ev.status, signal: ev.signal, at: Date.now() };
    p.lastExit = { status: end.status, signal: end.signal };
    const rootPid = p.rootPid;
    p.rootPid = null;
    for (const rec of this.registry.liveProcessesOf(this.group, p.id)) {
      if (rec.instance <= ev.instance) this.registry.endProcess(rec, { state: 'lost', status: null, signal: null });
    }
    this.registry.events.emit({ type: 'process-end', group: this.group.name, pid: rootPid, reason: `program ${p.id} instance ${ev.instance} ended (${describeEnd(end)})`, data: { program: p.id, instance: ev.instance, root: true, status: end.status, signal: end.signal, planned } });
    return end;
  }

  endByPolicy(ev: EventOf<'instance-end'>, crashed: boolean): Phase {
    const p = this.program;
    const end = this.closeInstance(ev, !crashed);
    const decision = decide(p, end, crashed);
    if (decision.action === 'restart') {
      p.restarts++;
      p.restartTimes = [...p.restartTimes.filter((t) => end.at - t < p.options.restartWindowMs), end.at];
      p.consecutiveRestarts = decision.delayMs === 0 && p.consecutiveRestarts > 0 ? 1 : p.consecutiveRestarts + 1;
      return this.restartIn(ev.instance, decision.delayMs, '');
    }
    if (decision.failed) {
      this.group.failedReason = `program ${p.id}: ${decision.failed}`;
      this.registry.events.emit({ type: 'group-failed', group: this.group.name, pid: null, reason: this.group.failedReason, data: { program: p.id } });
      diag(`${this.group.name}/${p.id}: instance ${ev.instance} ended (${describeEnd(end)}); group failed: ${decision.failed}`);
      this.send({ op: 'finish', code: decision.code, reason: `group ${this.group.name} failed: ${decision.failed}` });
      return 'failed';
    }
    this.send({ op: 'finish', code: decision.code });
    return 'exited';
  }

  private restartIn(instance: number, delayMs: number, note: string): Phase {
    const p = this.program;
    p.instance = instance + 1;
    this.registry.events.emit({ type: 'restart', group: this.group.name, pid: null, reason: `program ${p.id} restarts in ${delayMs} ms${note}`, data: { program: p.id, instance: p.instance, delayMs } });
    this.send({ op: 'restart', delayMs, instance: p.instance });
    return 'backoff';
  }

  restartAsked(ev: EventOf<'instance-end'>): Phase {
    this.closeInstance(ev, true);
    return this.restartIn(ev.instance, 0, ' (requested)');
  }

  finishStopped(ev: EventOf<'instance-end'>): Phase {
    this.closeInstance(ev, true);
    this.send({ op: 'finish', code: shellCode(ev.status, ev.signal) });
    return 'stopped';
  }

  finishLate(ev: EventOf<'instance-end'>): void {
    this.closeInstance(ev, true);
    this.send({ op: 'finish', code: shellCode(ev.status, ev.signal) });
  }

  cancelBackoff(to: 'stopped' | 'failed', reason: string): Phase {
    const last = this.program.lastExit;
    if (to === 'failed') this.group.failedReason = reason;
    this.send({ op: 'finish', code: shellCode(last?.status, last?.signal), ...(to === 'failed' ? { reason } : {}) });
    return to;
  }

  hurryBackoff(): Phase {
    this.send({ op: 'restart', delayMs: 0, instance: this.program.instance });
    return 'backoff';
  }

  runnerDead(wasStopping: boolean): Phase {
    const p = this.program;
    const left = this.provenTree();
    if (left.length) {
      this.signalAll(left, 9, 0);
      // A member without a link (a lazy image, a silent fork child, a static binary) has no close to
      // tell its end, and its reaper is gone with the runner: the SIGKILL just sent is its end.
      const killed = new Set(left.map((t) => t.pid));
      for (const rec of this.registry.liveProcessesOf(this.group, p.id)) {
        if (killed.has(rec.pid) && !this.lc.isLinked(rec.pid)) this.registry.endProcess(rec, { state: 'killed', status: null, signal: 9 });
      }
    }
    if (wasStopping) return 'stopped';
    const ended = left.length ? `; its ${left.length} remaining process(es) were ended` : '';
    if (!p.detached) {
      this.fault(p.runnerPid, `its foreground durun (pid ${p.runnerPid}) was killed${ended}`, { kind: 'runner-lost' });
      return 'lost';
    }
    if (p.restart === 'never') {
      this.fault(p.runnerPid, `its runner (pid ${p.runnerPid}) died${ended}; restart = never, so it stays down`, { kind: 'runner-lost' });
      return 'lost';
    }
    this.fault(p.runnerPid, `its runner (pid ${p.runnerPid}) died${ended}; starting it again`, { kind: 'runner-lost' });
    return this.relaunch();
  }

  relaunch(): Phase {
    this.lc.startRelaunch(this.group, this.program);
    return 'exited'; // this record is done; the new runner's hello brings a new program record
  }

  fail(reason: string): Phase {
    this.group.failedReason = reason;
    if (!FINAL.has(this.phase)) this.killTree(9, 0);
    return 'failed';
  }

  ignore(why: string): void {
    diag(`${this.group.name}/${this.program.id}: ${why} (phase ${this.phase}); nothing to do`);
  }
}
