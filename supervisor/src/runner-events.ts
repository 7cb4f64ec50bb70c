// Runner links (ARCHITECTURE.md, role `runner`): a hello makes or re-attaches
// a program; every other message is translated into a lifecycle event
// (lifecycle/table.ts decides). The runner's pid is its peer credentials.
import path from 'node:path';
import type { Registry, RunnerPort } from './model/registry.js';
import type { GroupRecord, ProgramRecord } from './model/types.js';
import type { RunnerHello, RunnerMessage } from './protocol/messages.js';
import type { Lifecycle } from './lifecycle/machine.js';
import { FINAL } from './lifecycle/phases.js';
import { DEFAULT_RESTART_OPTIONS } from './restart-policy.js';
import { isCrashSignal, signalName } from './signals.js';
import { proveRunner } from './proof.js';
import { diag } from './diag.js';

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** How often a runner whose link closed is looked at until it re-attaches or is gone. */
const RUNNER_WATCH_MS = 200;

export class RunnerEvents {
  /** Set by the supervisor: asks the interceptors under a re-attached runner to call home. */
  onReadopt: (runnerPid: number) => void = () => {};

  constructor(private readonly registry: Registry, private readonly lifecycle: Lifecycle, private readonly logDir: string) {}

  /**
   * A runner said hello: a new program joins (or starts) its group, or a
   * runner re-attaches. peerPid is the connection's SO_PEERCRED pid; the
   * hello's own pid field is not believed.
   */
  hello(h: RunnerHello, port: RunnerPort, peerPid: number): { group: GroupRecord; program: ProgramRecord } | { error: string } {
    if (!GROUP_NAME.test(h.group)) {
      return { error: `invalid group name "${h.group}": use letters, digits, '.', '_' or '-' (at most 64)` };
    }
    const proof = proveRunner(peerPid);
    if (typeof proof === 'string') {
      diag(`refused a runner hello from pid ${peerPid}: ${proof}`);
      return { error: `refused: only durun's runner may connect as a runner (${proof})` };
    }
    const group = this.registry.ensureGroup(h.group);
    let program = h.readopt && h.program !== undefined ? this.registry.program(group, h.program) : undefined;
    if (program && program.runnerPid !== peerPid) {
      diag(`${group.name}/${program.id}: re-attach from runner ${peerPid}, but the program's runner was ${program.runnerPid}; taken as a new program`);
      program = undefined;
    }
    if (!program) {
      // A runner re-attaching to a supervisor that does not know it keeps its id: its processes' hellos carry it.
      const keep = h.readopt && h.program !== undefined && !this.registry.program(group, h.program);
      const id = keep ? h.program! : group.nextProgramId;
      group.nextProgramId = Math.max(group.nextProgramId, id + 1);
      if (group.programs.every((p) => FINAL.has(p.phase))) group.failedReason = null; // a fresh launch into a finished group starts it anew
      program = {
        id, argv: h.argv, cwd: h.cwd, restart: h.restart, detached: h.detached, tty: h.tty,
        options: {
          backoffMs: h.backoffMs ?? DEFAULT_RESTART_OPTIONS.backoffMs,
          backoffMaxMs: h.backoffMaxMs ?? DEFAULT_RESTART_OPTIONS.backoffMaxMs,
          maxRestarts: h.maxRestarts ?? DEFAULT_RESTART_OPTIONS.maxRestarts,
          restartWindowMs: h.restartWindowMs ?? DEFAULT_RESTART_OPTIONS.restartWindowMs,
        },
        runnerPid: peerPid, runnerStartTime: proof.startTime, instance: h.instance ?? 1, rootPid: h.rootPid || null,
        phase: 'starting', state: 'running', instanceStartedAt: Date.now(),
        restarts: 0, restartTimes: [], consecutiveRestarts: 0, lastExit: null,
        logPath: path.join(this.logDir, `${h.group}.${Number.isInteger(h.logOf) && h.logOf! > 0 ? h.logOf : id}.log`),
      };
      group.programs.push(program);
      this.registry.logProgram(group, program);
    } else {
      program.runnerStartTime = proof.startTime;
      if (h.instance) program.instance = h.instance;
      if (h.rootPid !== undefined) program.rootPid = h.rootPid || null;
    }
    this.registry.attachRunner(group.name, program.id, port);
    diag(`${group.name}/${program.id}: runner ${peerPid} ${h.readopt ? 're-attached' : 'joined'} (${h.argv.join(' ')})`);
    if (h.readopt && FINAL.has(program.phase)) {
      // It ended (or was stopped) while its runner was away: an instance it still runs is ended, a restart it waits for is cancelled.
      port.send(program.rootPid ? { op: 'kill', signal: 9, graceMs: 0 } : { op: 'finish', code: 0 });
    }
    if (h.readopt) this.onReadopt(peerPid);
    this.registry.settle(group);
    return { group, program };
  }

  message(group: GroupRecord, program: ProgramRecord, msg: RunnerMessage): void {
    switch (msg.op) {
      case 'started':
        return this.lifecycle.feed(group, program, { kind: 'started', pid: msg.pid, instance: msg.instance });
      case 'child-exit':
        return this.childExit(group, program, msg);
      case 'stopping':
        diag(`${group.name}/${program.id}: operator sent ${signalName(msg.signal)} to the foreground durun; its end is planned`);
        return this.lifecycle.feed(group, program, { kind: 'foreground-stop', signal: msg.signal });
      case 'instance-end':
        return this.lifecycle.feed(group, program, { kind: 'instance-end', instance: msg.instance, status: msg.status ?? null, signal: msg.signal ?? null });
    }
  }

  /**
   * The runner link broke: the runner re-attaches after a supervisor
   * restart, or it is gone. It is watched until one of the two: a gone
   * runner is a lifecycle event within RUNNER_WATCH_MS.
   */
  gone(group: GroupRecord, program: ProgramRecord, port: RunnerPort): void {
    this.registry.detachRunner(group.name, program.id, port);
    diag(`${group.name}/${program.id}: runner link closed`);
    const watch = () => {
      if (this.registry.runner(group.name, program.id) || !group.programs.includes(program)) return;
      if (this.lifecycle.provenRunner(program)) {
        setTimeout(watch, RUNNER_WATCH_MS).unref();
        return;
      }
      if (!FINAL.has(program.phase)) this.lifecycle.feed(group, program, { kind: 'runner-dead' });
    };
    watch();
  }

  private childExit(group: GroupRecord, program: ProgramRecord, msg: Extract<RunnerMessage, { op: 'child-exit' }>): void {
    if (this.registry.isInternal(msg.pid)) return; // a checkpoint writer the runner reaped as an orphan
    const rec = this.registry.findProcess(group, msg.pid);
    const status = msg.status ?? null;
    const signal = msg.signal ?? null;
    if (rec && (rec.state === 'running' || rec.state === 'zombie')) {
      this.registry.endProcess(rec, { state: signal ? 'killed' : 'exited', status, signal });
    } else if (rec) {
      // Already ended via the interceptor; the runner's wait status is authoritative.
      rec.exitStatus = status;
      rec.signal = signal;
      if (signal) rec.state = 'killed';
    }
    if (msg.instance !== program.instance) return;
    if (msg.root) this.lifecycle.feed(group, program, { kind: 'root-ended', pid: msg.pid, status, signal });
    else if (signal !== null) this.noteCrash(group, program, msg.pid, msg.instance, signal);
  }

  /** A non-root process ended by a signal or a broken link: a crash when the signal is one (TERM, INT, HUP, PIPE are the program's business). */
  noteCrash(group: GroupRecord, program: ProgramRecord, pid: number, instance: number, signal: number | null): void {
    if (pid === program.rootPid || instance !== program.instance) return;
    if (signal !== null && !isCrashSignal(signal)) return;
    this.lifecycle.feed(group, program, { kind: 'member-crashed', pid, instance, signal });
  }
}
