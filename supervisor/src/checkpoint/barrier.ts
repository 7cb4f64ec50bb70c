// One checkpoint of one group behind one barrier (ARCHITECTURE.md,
// "Checkpoint barrier"). Phases: `stopping` (each member was sent `ckpt` and
// the signal; a process registering now joins as a member), `dumping` (all
// stopped, `ckpt-go` sent; a process registering now is held with SIGSTOP
// until the end), then the coordinator commits or aborts and calls end().

export type Phase = 'stopping' | 'dumping' | 'ended';

export interface MemberResult { bytes: number; kind: 'full' | 'incremental'; stallNs: number }

export interface Member {
  pid: number;   // outer pid (what we signal)
  inner: number; // pid the process sees (names its image)
  image: string;
  stopped: boolean;
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

  constructor(readonly group: string, readonly id: string, readonly dir: string, readonly full: boolean) {}

  add(pid: number, inner: number): Member {
    const m: Member = { pid, inner, image: `${this.dir}/${inner}.img`, stopped: false, result: null };
    this.members.set(pid, m);
    return m;
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

  done(pid: number, r: MemberResult): void {
    const m = this.members.get(pid);
    if (m) m.result = r;
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

  allDone(): boolean {
    return [...this.members.values()].every((m) => m.result !== null);
  }

  /** Members still missing in a phase, for the abort message. */
  missing(what: 'stopped' | 'done'): string {
    const left = [...this.members.values()].filter((m) => (what === 'stopped' ? !m.stopped : !m.result)).map((m) => m.pid);
    return left.join(', ');
  }
}
