// Active/standby pairs (policy `standby-of`): which side is active, kept in
// $DURUN_HOME/state/roles.json so a restarted supervisor keeps a promotion.
// When the active side fails (a fault, or its group goes failed, exited or
// stopped) while its standby runs, the standby is promoted: its programs
// learn it from `role` (wait:true answers on the change) and their saves go
// to their destination from then on, without a restart. An active already
// down (failed, exited, stopped) when its running standby asks its role is
// taken over then. Events come from the supervisor's bus; the lifecycle code
// is not involved.
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import type { DurunEvent } from '../protocol/events.js';
import type { GroupPolicy } from '../policy/types.js';
import type { EventSink } from '../events/sink.js';
import { readJson, writeJsonAtomic } from '../persist.js';

/** solo: not in a pair (acts as the active); active/standby: its side of its pair now. */
export type Role = 'solo' | 'active' | 'standby';

interface Pair { first: string; standby: string }

/** Group states in which the active no longer serves. */
const DOWN = new Set(['failed', 'exited', 'stopped']);

export class Roles {
  /** Pair of each paired group (both sides). */
  private pairs = new Map<string, Pair>();
  /** Active side per pair (by the pair's first group), as promoted. */
  private readonly active = new Map<string, string>();
  private readonly waiters = new Set<() => void>();
  private readonly file: string;

  constructor(dir: string, private readonly events: () => EventSink, private readonly stateOf: (group: string) => string | undefined) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, 'roles.json');
    for (const [k, v] of Object.entries(readJson<Record<string, string>>(this.file) ?? {})) this.active.set(k, v);
  }

  setPolicy(groups: readonly GroupPolicy[]): void {
    this.pairs = new Map();
    for (const g of groups) {
      if (!g.state.standbyOf) continue;
      const pair = { first: g.state.standbyOf, standby: g.name };
      this.pairs.set(pair.first, pair);
      this.pairs.set(pair.standby, pair);
    }
    this.wake();
  }

  /** The scope a group's saves live in: its pair's (named by the pair's first group), or its own. */
  scope(group: string): string {
    return this.pairs.get(group)?.first ?? group;
  }

  paired(group: string): boolean {
    return this.pairs.has(group);
  }

  role(group: string): Role {
    const pair = this.pairs.get(group);
    if (!pair) return 'solo';
    // An active that went down before its standby ran (or before this supervisor started) is taken over now.
    const active = this.activeOf(pair);
    if (active !== group && DOWN.has(this.stateOf(active) ?? '') && this.stateOf(group) === 'running') {
      this.promote(pair, group, `${active} is ${this.stateOf(active)}`);
    }
    return this.activeOf(pair) === group ? 'active' : 'standby';
  }

  /** Resolves with the group's role once it is not `known` (at once if it already differs). */
  waitRole(group: string, known: Role, onClose: (f: () => void) => void): Promise<Role> {
    return new Promise((resolve) => {
      const check = () => {
        const now = this.role(group);
        if (now === known) return;
        this.waiters.delete(check);
        resolve(now);
      };
      this.waiters.add(check);
      onClose(() => this.waiters.delete(check));
      check();
    });
  }

  /** A supervisor event: promotes the standby when its active fails. */
  observe(e: DurunEvent): void {
    if (!e.group) return;
    const pair = this.pairs.get(e.group);
    if (!pair || this.activeOf(pair) !== e.group) return;
    const failed = e.type === 'fault' || e.type === 'group-failed' || (e.type === 'state' && DOWN.has(String(e.data?.to)));
    if (!failed) return;
    const other = e.group === pair.first ? pair.standby : pair.first;
    if (this.stateOf(other) === 'running') this.promote(pair, other, `${e.group} failed (${e.reason})`);
  }

  private promote(pair: Pair, group: string, why: string): void {
    const failed = this.activeOf(pair);
    this.active.set(pair.first, group);
    writeJsonAtomic(this.file, Object.fromEntries(this.active), true);
    this.events().emit({ type: 'promoted', group, pid: null, reason: `${group} promoted to active: ${why}`, data: { failed } });
    this.wake();
  }

  private activeOf(pair: Pair): string {
    const a = this.active.get(pair.first);
    return a === pair.standby ? pair.standby : pair.first;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
