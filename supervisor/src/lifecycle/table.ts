// The instance lifecycle as one table: for every phase, what each event
// does. Handlers elsewhere only translate a message into an event
// (runner-events.ts, proc-events.ts, client-events.ts); every restart
// decision is made here, and the mapped type makes a missing pair a compile
// error (s6's lesson: a supervisor's life is a state × event table).
import type { EventKind, EventOf, LifeEvent, Phase } from './phases.js';
import { cleanEnd } from './phases.js';

/** What a rule may do; the machine (machine.ts) carries it out. */
export interface Act {
  /** A new instance's root runs. */
  started(ev: EventOf<'started'>): void;
  /** Ends the instance's tree: through its runner, else the proven tree. */
  killTree(signal: number, graceMs: number): void;
  /** Reports a fault of the program (an event, and the recovery engine's input). */
  fault(pid: number | null, reason: string, data: Record<string, unknown>): void;
  /** The instance ended: restart or finish by the policy; crashed tells how it went. */
  endByPolicy(ev: EventOf<'instance-end'>, crashed: boolean): Phase;
  /** The instance ended for an asked-for restart: restart at once, not counted. */
  restartAsked(ev: EventOf<'instance-end'>): Phase;
  /** The instance ended for a stop: the runner finishes. */
  finishStopped(ev: EventOf<'instance-end'>): Phase;
  /** Answers a runner's late instance end in a final phase with `finish`, so it never waits in vain. */
  finishLate(ev: EventOf<'instance-end'>): void;
  /** Tells the runner waiting out a backoff to finish (stop) or give up (failed). */
  cancelBackoff(to: 'stopped' | 'failed', reason: string): Phase;
  /** Tells the runner waiting out a backoff to start now. */
  hurryBackoff(): Phase;
  /** The runner died: end what is provably left, then relaunch or let go by policy. */
  runnerDead(wasStopping: boolean): Phase;
  /** Starts the program anew with a new runner (from a final phase). */
  relaunch(): Phase;
  /** Marks the group failed (the recovery ladder gave up). */
  fail(reason: string): Phase;
  /** An event with nothing to do in this phase; said in the diagnostics, never silently dropped. */
  ignore(why: string): void;
  /** The phase before this event. */
  readonly phase: Phase;
}

type Rule<K extends EventKind> = (a: Act, ev: EventOf<K>) => Phase;
type Row = { [K in EventKind]: Rule<K> };

const stay = (why: string) => (a: Act) => {
  a.ignore(why);
  return a.phase;
};

function crash(a: Act, pid: number | null, reason: string, data: Record<string, unknown>): Phase {
  a.fault(pid, reason, { kind: 'crash', ...data });
  a.killTree(9, 0);
  return 'crashing';
}

/** The root ended: a clean end lets descendants drain; any other signal ends the tree and restarts it. */
function rootEnded(a: Act, ev: EventOf<'root-ended'>): Phase {
  if (cleanEnd(ev.signal)) return 'draining';
  return crash(a, ev.pid, `root ${ev.pid} killed by signal ${ev.signal}${a.phase === 'running' ? '; its tree is ended and restarted' : ''}`, { signal: ev.signal, root: true });
}

function memberCrashed(a: Act, ev: EventOf<'member-crashed'>): Phase {
  const how = ev.signal !== null ? `killed by signal ${ev.signal}` : 'lost its link and is gone';
  return crash(a, ev.pid, `process ${ev.pid} ${how}; the instance restarts`, { signal: ev.signal, instance: ev.instance });
}

/** Signal 0: the stop is under way by other means (a policy's stop command); a later stop escalates. */
const beginStop: Rule<'stop'> = (a, ev) => {
  if (ev.signal) a.killTree(ev.signal, ev.graceMs);
  return 'stopping';
};
const beginCycle: Rule<'restart'> = (a, ev) => {
  a.killTree(ev.signal, ev.graceMs);
  return 'cycling';
};
/** The runner forwards the operator's signal itself; the end is planned. */
const foregroundStop: Rule<'foreground-stop'> = () => 'stopping';
const runnerDead: Rule<'runner-dead'> = (a) => a.runnerDead(a.phase === 'stopping');
const fail: Rule<'fail'> = (a, ev) => a.fail(ev.reason);

/** What every phase with an instance does with the operator's and the runner's words. */
const withInstance = {
  'tree-gone': stay('the runner reports the end when it re-attaches'),
  stop: beginStop,
  restart: beginCycle,
  'foreground-stop': foregroundStop,
  'runner-dead': runnerDead,
  fail,
} satisfies Partial<Row>;

/** Phases in which an instance is alive and judged by how it ends. */
const live = (overrides: Partial<Row>): Row => ({
  started: (a, ev) => {
    a.started(ev);
    return 'running';
  },
  'root-ended': rootEnded,
  'member-crashed': memberCrashed,
  'instance-end': (a, ev) => a.endByPolicy(ev, ev.signal !== null && !cleanEnd(ev.signal)),
  ...withInstance,
  ...overrides,
});

/** Phases in which the tree is being ended on purpose: late reports of that are part of it. */
const ending = (end: Rule<'instance-end'>, overrides: Partial<Row>): Row => ({
  started: stay('a start while the instance is being ended'),
  'root-ended': stay('the root ended as the instance is being ended'),
  'member-crashed': stay('a process died as the instance is being ended'),
  'instance-end': end,
  ...withInstance,
  ...overrides,
});

/** Nothing runs and no runner waits: only a restart (relaunch) or a failure verdict changes it. */
const final = (why: string): Row => ({
  // Never two instances: one that starts after its program ended (a crossing restart) is ended again.
  started: (a) => {
    a.ignore(`an instance started ${why}; ending it`);
    a.killTree(9, 0);
    return a.phase;
  },
  'root-ended': stay(`a late root end ${why}`),
  'member-crashed': stay(`a late crash report ${why}`),
  'instance-end': (a, ev) => {
    a.finishLate(ev);
    return a.phase;
  },
  stop: stay(`nothing to stop ${why}`),
  restart: (a) => a.relaunch(),
  'tree-gone': stay(`nothing runs ${why}`),
  'foreground-stop': stay(`a stop signal ${why}`),
  'runner-dead': stay(`the runner exited ${why}`),
  fail,
});

export const LIFECYCLE: { [P in Phase]: Row } = {
  starting: live({}),
  running: live({}),
  draining: live({
    started: stay('a start while the last instance drains'),
    'root-ended': stay('the root had already ended'),
    // The root ended cleanly; the instance ends now that its last descendant did.
    'instance-end': (a, ev) => a.endByPolicy(ev, false),
  }),
  crashing: ending((a, ev) => a.endByPolicy(ev, true), {
    restart: () => 'cycling', // the tree is already being killed
  }),
  stopping: ending((a, ev) => a.finishStopped(ev), {
    'foreground-stop': stay('already stopping'),
    // Its runner is away (frozen, or re-attaching): the stop is done; the runner is told to finish when it is back.
    'tree-gone': () => 'stopped',
  }),
  cycling: ending((a, ev) => a.restartAsked(ev), {
    restart: stay('a restart is already under way'),
  }),
  backoff: {
    started: (a, ev) => {
      a.started(ev);
      return 'running';
    },
    'root-ended': stay('a late root end while waiting to restart'),
    'member-crashed': stay('a late crash report while waiting to restart'),
    'instance-end': stay('an instance end while no instance runs'),
    'tree-gone': stay('nothing runs while waiting to restart'),
    stop: (a) => a.cancelBackoff('stopped', 'stopped by the operator'),
    restart: (a) => a.hurryBackoff(),
    'foreground-stop': () => 'stopped', // the runner cancels its own restart on the signal
    'runner-dead': runnerDead,
    fail: (a, ev) => a.cancelBackoff('failed', ev.reason),
  },
  exited: final('after the program ended'),
  stopped: final('after the program was stopped'),
  failed: final('after the group failed'),
  lost: {
    ...final('after the runner was lost'),
    stop: (a) => a.runnerDead(true),
  },
};

/** The rule of an event in a phase (typed so each event meets its own rule). */
export function ruleFor<E extends LifeEvent>(phase: Phase, ev: E): (a: Act, ev: E) => Phase {
  return LIFECYCLE[phase][ev.kind as E['kind']] as unknown as (a: Act, ev: E) => Phase;
}
