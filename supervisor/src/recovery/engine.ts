// The recovery engine: feeds fault reports through the correlator into each
// group's ladder (ladder.ts), carries out the step the table chooses, and
// reports every decision as an event. Crash restarts stay with the restart
// policy (runner-events.ts); when it gives up (group-failed) the ladder climbs.
// Each group's ladder is kept in $DURUN_HOME/recovery.json, so a supervisor
// restart (kill -9, upgrade) does not send a fault that did not hold back to
// the first step.
import type { DurunEvent } from '../protocol/events.js';
import type { EventSink } from '../events/sink.js';
import type { HealthPolicy, RecoveryStep } from '../health/config.js';
import { groupPolicy } from '../health/config.js';
import type { Registry } from '../model/registry.js';
import { TABLE, escalate, newLadder, type Ladder, type LadderInput } from './ladder.js';
import { correlate, type GroupView } from './correlator.js';
import { unavailable, type RecoveryActions } from './actions.js';
import { diag } from '../diag.js';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../persist.js';

/** How long a fault of a group with dependencies waits for theirs before it is taken as primary. */
const DEPENDENCY_SETTLE_MS = 500;
/** Non-zero planned exits within the recovery window that make a "failing-exits" fault. */
const FAILING_EXITS = 3;

export interface Fault { group: string; kind: string; observedAt: number; reason: string; pid?: number | null; data?: Record<string, unknown> }

interface GroupRecovery { ladder: Ladder; lastFaultAt: number | null; held: NodeJS.Timeout | null; ownAction: boolean; failedExits: number[] }

/** What recovery.json keeps of a group. */
type SavedRecovery = Pick<GroupRecovery, 'ladder' | 'lastFaultAt' | 'failedExits'>;

/** A group on the first rung with nothing to remember: not written to recovery.json (most groups, most of the time). */
function blank(r: GroupRecovery): boolean {
  const l = r.ladder;
  return l.state === 'idle' && l.step < 0 && l.attempts.length === 0 && l.lastActionAt === null && r.lastFaultAt === null && r.failedExits.length === 0;
}

export class RecoveryEngine {
  private readonly groups = new Map<string, GroupRecovery>();
  /** What recovery.json holds now: a save that would write the same text writes nothing. */
  private written = '';

  constructor(
    private readonly registry: Registry,
    private readonly sink: EventSink,
    private readonly actions: RecoveryActions,
    private policy: () => HealthPolicy,
    private readonly stateFile: string | null = null,
  ) {
    this.load();
  }

  /**
   * The ladders of the last supervisor. A step that was under way when it
   * died is taken as done (the group was restarted or not; either way a new
   * fault must climb past it), and a watch window starts again in full.
   */
  private load(): void {
    if (!this.stateFile) return;
    let saved: Record<string, SavedRecovery>;
    try {
      saved = (JSON.parse(readFileSync(this.stateFile, 'utf8')) as { groups: Record<string, SavedRecovery> }).groups;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') diag(`recovery state ${this.stateFile} unreadable, ladders start afresh: ${(err as Error).message}`);
      return;
    }
    for (const [group, s] of Object.entries(saved)) {
      const r: GroupRecovery = { ladder: s.ladder, lastFaultAt: s.lastFaultAt, failedExits: s.failedExits, held: null, ownAction: false };
      if (r.ladder.state === 'acting') r.ladder = { ...r.ladder, state: 'watching' };
      this.groups.set(group, r);
      if (r.ladder.state === 'watching') this.armHeld(group, r);
    }
  }

  /**
   * Writes every ladder that is not blank (tmp + rename: a reader sees the
   * old or the new file, never half), at once: a supervisor killed the next
   * instant restarts on the same rung. Only groups with something to
   * remember are written, and an unchanged file not at all, so stopping
   * 1,000 healthy groups (each a `reset`) writes nothing.
   */
  private save(): void {
    if (!this.stateFile) return;
    const groups: Record<string, SavedRecovery> = {};
    for (const [g, r] of this.groups) if (!blank(r)) groups[g] = { ladder: r.ladder, lastFaultAt: r.lastFaultAt, failedExits: r.failedExits };
    const text = JSON.stringify({ version: 1, groups });
    if (text === this.written) return;
    try {
      writeFileAtomic(this.stateFile, text);
      this.written = text;
    } catch (err) {
      diag(`cannot save the recovery state to ${this.stateFile}: ${(err as Error).message}`);
    }
  }

  /** Reacts to events of other parts: the restart policy giving up, state changes, failing exits. */
  observe(e: DurunEvent): void {
    if (e.group === null) return;
    if (e.type === 'removed') return this.forget(e.group);
    const r = this.state(e.group);
    if (e.type === 'group-failed' && !r.ownAction) {
      const steps = groupPolicy(this.policy(), e.group).recovery.steps;
      const after = steps.indexOf('restart-process') + 1; // the restart policy already did restart-process
      this.fault({ group: e.group, kind: 'failed', observedAt: Date.parse(e.time), reason: e.reason }, after, false);
    } else if (e.type === 'state' && !r.ownAction) {
      if (e.data?.to === 'stopped' || (r.ladder.state === 'failed' && e.data?.to === 'running')) this.input(e.group, 'reset', 'the operator stopped or restarted the group');
    } else if (e.type === 'process-end' && e.data?.root === true && typeof e.data.status === 'number' && e.data.status !== 0 && e.data.planned === true) {
      const at = Date.parse(e.time);
      const windowMs = groupPolicy(this.policy(), e.group).recovery.windowMs;
      r.failedExits = [...r.failedExits.filter((t) => at - t < windowMs), at];
      if (r.failedExits.length >= FAILING_EXITS) {
        r.failedExits = [];
        this.fault({ group: e.group, kind: 'failing-exits', observedAt: at, reason: `${FAILING_EXITS} exits with non-zero status within ${Math.round(windowMs / 1000)} s (last ${e.data.status})` }); // saves
      } else {
        this.save();
      }
    }
  }

  /**
   * A fault report: recorded as an event, then escalated or correlated. A
   * group with dependencies gets DEPENDENCY_SETTLE_MS before its fault counts
   * as primary: a dependency's own fault may arrive a moment later (the
   * dependent's check noticed first) and then explains it.
   */
  fault(f: Fault, minStep = 0, record = true, settled = false): void {
    const r = this.state(f.group);
    const now = Date.now();
    if (record) this.sink.emit({ type: 'fault', group: f.group, pid: f.pid ?? null, reason: f.reason, data: { kind: f.kind, ...f.data } });
    const cfg = groupPolicy(this.policy(), f.group);
    const deps = new Map<string, GroupView>(cfg.dependsOn.map((d) => [d, this.view(d)]));
    const verdict = correlate({ group: f.group, observedAt: f.observedAt }, this.view(f.group), deps, cfg.recovery.windowMs, now);
    if (verdict.primary && deps.size > 0 && !settled) {
      setTimeout(() => this.fault(f, minStep, false, true), DEPENDENCY_SETTLE_MS).unref();
      return;
    }
    r.lastFaultAt = now;
    if (!verdict.primary) {
      this.sink.emit({ type: 'correlated', group: f.group, pid: f.pid ?? null, reason: verdict.reason, data: { kind: f.kind, fault: f.reason } });
      this.save(); // lastFaultAt; a primary fault is saved by input()
      return;
    }
    this.input(f.group, 'fault', f.reason, minStep);
  }

  private input(group: string, input: LadderInput, reason: string, minStep = 0): void {
    this.act(group, input, reason, minStep);
    this.save();
  }

  private act(group: string, input: LadderInput, reason: string, minStep: number): void {
    const r = this.state(group);
    const action = TABLE[r.ladder.state][input];
    switch (action) {
      case 'ignore':
        return;
      case 'correlate':
        this.sink.emit({ type: 'correlated', group, pid: null, reason: r.ladder.state === 'acting' ? `recovery of ${group} in progress` : `group ${group} has failed; durun restart ${group} starts it anew`, data: { fault: reason } });
        return;
      case 'settle':
        r.ladder = { ...r.ladder, state: 'watching' };
        this.armHeld(group, r);
        return;
      case 'recover':
        this.sink.emit({ type: 'recovered', group, pid: null, reason: `no fault for ${Math.round(groupPolicy(this.policy(), group).recovery.windowMs / 1000)} s after ${this.stepName(group, r.ladder)}; the ladder starts again at its first step` });
        r.ladder = newLadder();
        return;
      case 'reset':
        if (r.held) clearTimeout(r.held);
        r.ladder = newLadder();
        return;
      case 'escalate':
        return this.escalate(group, r, reason, minStep);
    }
  }

  private escalate(group: string, r: GroupRecovery, reason: string, minStep: number): void {
    if (r.held) clearTimeout(r.held);
    const cfg = groupPolicy(this.policy(), group).recovery;
    const why = (step: RecoveryStep) => (this.actions.whyNot ? this.actions.whyNot(step, group) : unavailable(step));
    const e = escalate(r.ladder, cfg, Date.now(), why, minStep);
    r.ladder = e.ladder;
    for (const s of e.skipped) this.sink.emit({ type: 'recovery-skipped', group, pid: null, reason: s.reason, data: { step: s.step } });
    if (!e.take) {
      const why = `recovery ladder exhausted (${cfg.steps.join(', ')}) after: ${reason}`;
      r.ownAction = true;
      this.actions.failGroup(group, why)
        .catch((err: Error) => diag(`${group}: could not stop the failed group: ${err.message}`))
        .finally(() => {
          r.ownAction = false;
          this.sink.emit({ type: 'group-failed', group, pid: null, reason: why });
        });
      return;
    }
    const { step, attempt } = e.take;
    this.sink.emit({ type: 'recovery-step', group, pid: null, reason: `${step} (attempt ${attempt} of ${cfg.attempts}) after: ${reason}`, data: { step, attempt } });
    r.ownAction = true;
    const act = step === 'restart-process' ? this.actions.restartProcess(group)
      : step === 'restore' && this.actions.restore ? this.actions.restore(group)
        : step === 'failover' && this.actions.failover ? this.actions.failover(group)
          : this.actions.restartGroup(group);
    act.then(
      () => {
        r.ownAction = false;
        this.input(group, 'step-done', `${step} done`);
      },
      (err: Error) => {
        r.ownAction = false;
        // The step could not be carried out: it did not hold, so the next fault climbs past it.
        this.sink.emit({ type: 'recovery-step', group, pid: null, reason: `${step} failed: ${err.message}`, data: { step, attempt, failed: true } });
        r.ladder = { ...r.ladder, state: 'watching', attempts: Array(cfg.attempts).fill(Date.now()) };
        this.input(group, 'fault', `${step} failed`);
      },
    );
  }

  /** A removed group's ladder goes with it (a later group of that name starts on the first rung). */
  private forget(group: string): void {
    const r = this.groups.get(group);
    if (!r) return;
    if (r.held) clearTimeout(r.held);
    this.groups.delete(group);
    this.save();
  }

  private armHeld(group: string, r: GroupRecovery): void {
    if (r.held) clearTimeout(r.held);
    r.held = setTimeout(() => {
      r.held = null;
      this.input(group, 'held', 'window passed');
    }, groupPolicy(this.policy(), group).recovery.windowMs);
    r.held.unref();
  }

  private stepName(group: string, l: Ladder): string {
    return groupPolicy(this.policy(), group).recovery.steps[l.step] ?? 'recovery';
  }

  private view(group: string): GroupView {
    const r = this.state(group);
    return { ladder: r.ladder, running: this.registry.group(group)?.state === 'running', lastFaultAt: r.lastFaultAt };
  }

  private state(group: string): GroupRecovery {
    let r = this.groups.get(group);
    if (!r) this.groups.set(group, (r = { ladder: newLadder(), lastFaultAt: null, held: null, ownAction: false, failedExits: [] }));
    return r;
  }
}
