// The process model: groups, their programs and processes, lookups, derived
// group state, and persistence. Transitions live in the *-events modules;
// this file only stores and finds.
import { statSync } from 'node:fs';
import type { GroupState } from '../protocol/views.js';
import type { GroupRecord, PersistedState, ProcRecord, ProgramRecord } from './types.js';
import { readJson, writeJsonAtomic } from '../persist.js';
import { StateLog, readStateLog, replayEntry } from './state-log.js';
import { diag } from '../diag.js';
import { NO_EVENTS, type EventSink } from '../events/sink.js';
import { proveRunner } from '../proof.js';
import type { Phase } from '../lifecycle/phases.js';

/** How many ended processes a group keeps for `ps` and post-mortems. */
const ENDED_KEEP = 200;
/** How long a pid marked internal stays so (a checkpoint writer's life, with margin). */
const INTERNAL_KEEP_MS = 3_600_000;
/** How many launch-history entries a group keeps. */
const HISTORY_KEEP = 1000;
/** Longest a change waits before it is saved to state.json. */
const SAVE_DELAY_MS = 1000;

/** What the supervisor can say to a connected runner. */
export interface RunnerPort {
  send(msg: Record<string, unknown>): void;
}

export class Registry {
  readonly groups = new Map<string, GroupRecord>();
  /** Live (not ended) processes by pid. */
  private readonly live = new Map<number, { group: GroupRecord; rec: ProcRecord }>();
  private readonly runners = new Map<string, RunnerPort>();
  /** durun's own processes inside program trees (checkpoint writers), with when they were seen. */
  private readonly internal = new Map<number, number>();
  private saveTimer: NodeJS.Timeout | null = null;
  /** Changes that must not wait for the coalesced save, between two snapshots (state-log.ts). */
  private log: StateLog;
  /** Called whenever a group's programs settle (no group: anything may have changed), so waiters (stop, restart) can re-check. */
  onSettle: (group?: GroupRecord) => void = () => {};
  /** Where transitions report events (the journal, once the supervisor wires it). */
  events: EventSink = NO_EVENTS;

  /** stateFile: the snapshot; its log is the same name ending in .log instead of .json. */
  constructor(private readonly stateFile: string) {
    this.log = new StateLog(stateFile.replace(/\.json$/, '') + '.log', 0);
  }

  /** The last snapshot, then what the log says happened after it. */
  load(): void {
    const state = readJson<PersistedState>(this.stateFile);
    if (state && state.version !== 1) throw new Error(`${this.stateFile}: unknown state version ${String(state.version)}`);
    for (const g of state?.groups ?? []) this.groups.set(g.name, g);
    const snapshotSeq = state?.logSeq ?? 0;
    const newer = readStateLog(this.log.file, snapshotSeq);
    for (const e of newer) replayEntry(this.groups, e);
    this.log = new StateLog(this.log.file, Math.max(snapshotSeq, newer.at(-1)?.seq ?? 0));
    for (const g of this.groups.values()) {
      for (const p of g.programs) upgradeProgram(p);
      for (const p of g.processes) if (p.state === 'running') this.live.set(p.pid, { group: g, rec: p });
    }
    // A fresh snapshot at once empties the log: a torn last line (power loss) must not swallow the next append.
    if (statSync(this.log.file, { throwIfNoEntry: false })?.size) this.saveNow();
  }

  /**
   * Schedules an atomic save of the whole model, coalescing bursts (a shell
   * loop forks hundreds of times a second). Losing the last moments to a
   * supervisor crash is harmless: the next supervisor re-learns every live
   * process from /proc and from the interceptors calling home. What it could
   * not re-learn soon enough goes to the log first (logProgram, logRemoval).
   */
  changed(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.saveNow();
    }, SAVE_DELAY_MS);
  }

  /**
   * A new program, written down at once (one log line), not only with the
   * coalesced save: a supervisor killed the next instant must not forget
   * it (its runner re-attaches, but only after noticing; `ps` meanwhile
   * would not know it).
   */
  logProgram(group: GroupRecord, program: ProgramRecord): void {
    const { name, state, restarts, failedReason, nextProgramId } = group;
    this.commit(() => this.log.append({ op: 'program', group: { name, state, restarts, failedReason, nextProgramId }, program }));
  }

  /** Programs taken out of a group (and the group once empty), written down at once: a removed group must not come back. */
  logRemoval(group: string, programs: number[]): void {
    this.commit(() => this.log.append({ op: 'remove', group, programs }));
  }

  private commit(append: () => void): void {
    try {
      append();
    } catch (err) {
      // The log cannot take it: the whole model at once, as before the log.
      diag(`cannot append to ${this.log.file} (${(err as Error).message}); saving ${this.stateFile} instead`);
      this.saveNow();
      return;
    }
    this.changed();
  }

  /** Writes the snapshot (tmp, fsync, rename), then empties the log it now includes. */
  private saveNow(): void {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    try {
      writeJsonAtomic(this.stateFile, { version: 1, logSeq: this.log.lastSeq, groups: [...this.groups.values()] } satisfies PersistedState, true);
      this.log.clear();
    } catch (err) {
      diag(`cannot save ${this.stateFile}: ${(err as Error).message}`);
    }
  }

  /** The last save, at shutdown. */
  close(): void {
    this.saveNow();
    this.log.close();
  }

  group(name: string): GroupRecord | undefined {
    return this.groups.get(name);
  }

  ensureGroup(name: string): GroupRecord {
    let g = this.groups.get(name);
    if (!g) {
      g = { name, state: 'running', restarts: 0, failedReason: null, nextProgramId: 1, programs: [], processes: [], history: [] };
      this.groups.set(name, g);
      this.events.emit({ type: 'state', group: name, pid: null, reason: 'group started', data: { from: null, to: g.state } });
    }
    return g;
  }

  program(group: GroupRecord, id: number): ProgramRecord | undefined {
    return group.programs.find((p) => p.id === id);
  }

  liveProcess(pid: number): { group: GroupRecord; rec: ProcRecord } | undefined {
    return this.live.get(pid);
  }

  /** Any record (live or ended) for pid in a group, newest first. */
  findProcess(group: GroupRecord, pid: number): ProcRecord | undefined {
    for (let i = group.processes.length - 1; i >= 0; i--) if (group.processes[i]!.pid === pid) return group.processes[i];
    return undefined;
  }

  addProcess(group: GroupRecord, rec: ProcRecord): void {
    const old = this.live.get(rec.pid);
    if (old) this.endProcess(old.rec, { state: 'lost', status: null, signal: null });
    group.processes.push(rec);
    this.live.set(rec.pid, { group, rec });
    this.trimEnded(group);
    this.changed();
  }

  endProcess(rec: ProcRecord, how: { state: ProcRecord['state']; status: number | null; signal: number | null }): void {
    rec.state = how.state;
    rec.exitStatus = how.status;
    rec.signal = how.signal;
    rec.endedAt = Date.now();
    rec.pendingExec = null;
    if (this.live.get(rec.pid)?.rec === rec) this.live.delete(rec.pid);
    this.changed();
  }

  /**
   * Marks pid as durun's own (a checkpoint writer): the /proc scan, the
   * runner's child-exit and a parent's `reaped` must not take it for a
   * process of the program, least of all for a crash. Kept for an hour: a
   * writer lives for as long as one image takes to write.
   */
  markInternal(pid: number): void {
    const now = Date.now();
    for (const [p, at] of this.internal) if (now - at > INTERNAL_KEEP_MS) this.internal.delete(p);
    this.internal.set(pid, now);
    const rec = this.live.get(pid);
    if (rec && !rec.rec.preloaded) {
      // Seen by the /proc scan before it said who it is.
      rec.group.processes.splice(rec.group.processes.indexOf(rec.rec), 1);
      this.live.delete(pid);
      this.changed();
    }
  }

  isInternal(pid: number): boolean {
    return this.internal.has(pid);
  }

  liveProcessesOf(group: GroupRecord, programId?: number): ProcRecord[] {
    return group.processes.filter((p) => p.state === 'running' && (programId === undefined || p.program === programId));
  }

  recordLaunch(group: GroupRecord, program: ProgramRecord | undefined, rec: ProcRecord): void {
    const base = program?.instanceStartedAt ?? rec.startedAt;
    group.history.push({
      pid: rec.pid, ppid: rec.ppid, exe: rec.exe, argv: rec.argv, program: rec.program, instance: rec.instance,
      at: rec.startedAt, offsetMs: Math.max(0, rec.startedAt - base),
    });
    if (group.history.length > HISTORY_KEEP) group.history.splice(0, group.history.length - HISTORY_KEEP);
  }

  runnerKey(group: string, program: number): string {
    return `${group}\u0000${program}`;
  }

  attachRunner(group: string, program: number, port: RunnerPort): void {
    this.runners.set(this.runnerKey(group, program), port);
  }

  detachRunner(group: string, program: number, port: RunnerPort): void {
    const key = this.runnerKey(group, program);
    if (this.runners.get(key) === port) this.runners.delete(key);
  }

  runner(group: string, program: number): RunnerPort | undefined {
    return this.runners.get(this.runnerKey(group, program));
  }

  /** Recomputes a group's state from its programs. */
  settle(group: GroupRecord): void {
    const states = group.programs.map((p) => p.state);
    let state: GroupState;
    if (states.includes('failed')) state = 'failed';
    else if (states.includes('restarting')) state = 'restarting';
    else if (states.includes('running') || states.includes('lost') && this.liveProcessesOf(group).length > 0) state = 'running';
    else if (states.includes('stopped')) state = 'stopped';
    else state = 'exited';
    if (group.state !== state) {
      const why = state === 'failed' ? group.failedReason ?? 'failed' : `programs ${states.join(', ')}`;
      this.events.emit({ type: 'state', group: group.name, pid: null, reason: why, data: { from: group.state, to: state } });
    }
    group.state = state;
    group.restarts = group.programs.reduce((n, p) => n + p.restarts, 0);
    this.changed();
    this.onSettle(group);
  }

  private trimEnded(group: GroupRecord): void {
    if (group.processes.length <= ENDED_KEEP * 2) return; // trim in batches, not on every fork
    const ended = group.processes.filter((p) => p.state !== 'running');
    if (ended.length <= ENDED_KEEP) return;
    const drop = new Set(ended.slice(0, ended.length - ENDED_KEEP));
    group.processes = group.processes.filter((p) => !drop.has(p));
  }
}

/**
 * A program saved before the lifecycle table (no phase, no runner start
 * time): its phase from its shown state, and its runner's start time only
 * if that pid is still durun's runner now.
 */
function upgradeProgram(p: ProgramRecord): void {
  const legacy = p as ProgramRecord & { phase?: Phase; runnerStartTime?: number | null };
  if (legacy.phase === undefined) legacy.phase = p.state === 'restarting' ? 'backoff' : p.state;
  if (legacy.runnerStartTime === undefined) {
    const proof = proveRunner(p.runnerPid);
    legacy.runnerStartTime = typeof proof === 'string' ? null : proof.startTime;
  }
}
