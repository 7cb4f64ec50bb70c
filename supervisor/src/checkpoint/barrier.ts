// One checkpoint of one group behind one barrier (ARCHITECTURE.md,
// "Checkpoint barrier"). Phases: `stopping` (each member was sent `ckpt` and
// the signal; a process registering now joins as a member), `dumping` (all
// stopped, `ckpt-go` sent, members capture their state; a process
// registering now is held with SIGSTOP until the members resume), `writing`
// (all captured and resumed; writers finish the images), then the
// coordinator commits or aborts and calls end(). A move (durun migrate) never
// resumes its members: once its checkpoint is committed they are ended
// where they are parked (`moved`), and the group comes back from it.

export type Phase = 'stopping' | 'dumping' | 'writing' | 'moved' | 'ended';

export interface MemberResult { bytes: number; kind: 'full' | 'incremental'; stallNs: number }

export interface Member {
  pid: number;   // outer pid (what we signal)
  inner: number; // pid the process sees (names its image)
  image: string;
  stopped: boolean;
  /** Its state is taken (snapshot writer forked, or image written in place). */
  captured: boolean;
  /** The snapshot's writer (our pid for it, from its connection), once it said hello. */
  writer: number | null;
  /** When the writer was first seen gone without its image (ms). */
  writerGoneAt?: number;
  /** How long the member's own capture took (from the process). */
  stallNs: number;
  /** How long it was held as it saw it: from its signal to its threads running again (ckpt-resumed). */
  pausedNs: number | null;
  result: MemberResult | null;
}

export class Barrier {
  phase: Phase = 'stopping';
  readonly members = new Map<number, Member>();
  /** Processes that registered while images were being written: SIGCONT at the end. */
  readonly held = new Set<number>();
  failure: string | null = null;
  /** The failure was a member ending before ckpt-go: nothing written, worth another try. */
  transient = false;
  private wake: () => void = () => {};

  /** A move: members carry their TCP connections live and are never let go. */
  constructor(readonly group: string, readonly id: string, readonly dir: string, readonly full: boolean, readonly move = false) {}

  add(pid: number, inner: number): Member {
    const m: Member = { pid, inner, image: `${this.dir}/${inner}.img`, stopped: false, captured: false, writer: null, stallNs: 0, pausedNs: null, result: null };
    this.members.set(pid, m);
    return m;
  }

  /** A member that ended before it parked: nothing of it is in any image, so it is no member. */
  drop(pid: number): void {
    this.members.delete(pid);
    this.wake();
  }

  /** Records the first failure (a member failed, died or did not answer); waiters wake up. */
  fail(why: string): void {
    if (!this.failure) this.failure = why;
    this.wake();
  }

  /** When the first member parked (Date.now()). */
  firstStoppedAt: number | null = null;

  stopped(pid: number): void {
    this.firstStoppedAt ??= Date.now();
    const m = this.members.get(pid);
    if (m) m.stopped = true;
    this.wake();
  }

  /** When the members were let go (Date.now()). */
  resumedAt: number | null = null;

  /** A snapshot was taken; its writer is at work. */
  captured(pid: number, stallNs: number): void {
    const m = this.members.get(pid);
    if (m) Object.assign(m, { captured: true, stallNs });
    this.wake();
  }

  /** A member runs again and says how long it was held. */
  resumed(pid: number, pausedNs: number): void {
    const m = this.members.get(pid);
    if (m) m.pausedNs = pausedNs;
    this.wake();
  }

  /** An image is complete: written in place by the member (also captured, then), or by its writer. */
  done(pid: number, r: MemberResult): void {
    const m = this.members.get(pid);
    if (m) {
      if (!m.captured) Object.assign(m, { captured: true, stallNs: r.stallNs });
      m.result = { ...r, stallNs: m.stallNs };
    }
    this.wake();
  }

  /** Resolves once cond() holds; rejects on failure or after timeoutMs. */
  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(`${what} within ${timeoutMs} ms`), timeoutMs);
      const check = () => {
        if (this.failure) {
          clearTimeout(timer);
          reject(new Error(this.failure));
        } else if (cond()) {
          clearTimeout(timer);
          this.wake = () => {};
          resolve();
        }
      };
      this.wake = check;
      check();
    });
  }

  allStopped(): boolean {
    return [...this.members.values()].every((m) => m.stopped);
  }

  allCaptured(): boolean {
    return [...this.members.values()].every((m) => m.captured);
  }

  allDone(): boolean {
    return [...this.members.values()].every((m) => m.result !== null);
  }

  /** Members still missing in a phase, for the abort message. */
  missing(what: 'stopped' | 'captured' | 'done'): string {
    const pending = (m: Member) => (what === 'stopped' ? !m.stopped : what === 'captured' ? !m.captured : !m.result);
    return [...this.members.values()].filter(pending).map((m) => m.pid).join(', ');
  }
}
