// Transitions driven by runner links (ARCHITECTURE.md, role `runner`).
import path from 'node:path';
import type { Registry, RunnerPort } from './model/registry.js';
import type { GroupRecord, ProgramRecord } from './model/types.js';
import type { RunnerHello, RunnerMessage } from './protocol/messages.js';
import { DEFAULT_RESTART_OPTIONS, decide, describeEnd } from './restart-policy.js';
import { isCrashSignal, signalName } from './signals.js';
import { killInstance } from './program-control.js';
import { diag } from './diag.js';

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class RunnerEvents {
  /** Set by the supervisor: asks the interceptors under a re-attached runner to call home. */
  onReadopt: (runnerPid: number) => void = () => {};

  constructor(private readonly registry: Registry, private readonly logDir: string) {}

  /** A runner said hello: a new program joins (or starts) its group, or a runner re-attaches. */
  hello(h: RunnerHello, port: RunnerPort): { group: GroupRecord; program: ProgramRecord } | { error: string } {
    if (!GROUP_NAME.test(h.group)) {
      return { error: `invalid group name "${h.group}": use letters, digits, '.', '_' or '-' (at most 64)` };
    }
    const group = this.registry.ensureGroup(h.group);
    let program = h.readopt && h.program !== undefined ? this.registry.program(group, h.program) : undefined;
    if (!program) {
      const id = h.readopt && h.program !== undefined ? h.program : group.nextProgramId;
      group.nextProgramId = Math.max(group.nextProgramId, id + 1);
      if (!h.readopt && group.programs.every((p) => p.state !== 'running' && p.state !== 'restarting')) {
        group.failedReason = null; // a fresh launch into a finished group starts it anew
      }
      program = {
        id, argv: h.argv, cwd: h.cwd, restart: h.restart, detached: h.detached, tty: h.tty,
        options: {
          backoffMs: h.backoffMs ?? DEFAULT_RESTART_OPTIONS.backoffMs,
          backoffMaxMs: h.backoffMaxMs ?? DEFAULT_RESTART_OPTIONS.backoffMaxMs,
          maxRestarts: h.maxRestarts ?? DEFAULT_RESTART_OPTIONS.maxRestarts,
          restartWindowMs: h.restartWindowMs ?? DEFAULT_RESTART_OPTIONS.restartWindowMs,
        },
        runnerPid: h.pid, instance: h.instance ?? 1, rootPid: h.rootPid || null, state: 'running',
        instanceStartedAt: Date.now(), crashed: false, stopRequested: false, restartRequested: false,
        restarts: 0, restartTimes: [], consecutiveRestarts: 0, lastExit: null,
        logPath: path.join(this.logDir, `${h.group}.${id}.log`),
      };
      group.programs.push(program);
      // A new program is written down at once, not with the coalesced saves:
      // a supervisor killed the next instant must not forget the group (its
      // runner re-attaches, but only after noticing; `ps` meanwhile would not know it).
      this.registry.saveSoon();
    } else {
      program.runnerPid = h.pid;
      if (h.instance) program.instance = h.instance;
      if (h.rootPid !== undefined) program.rootPid = h.rootPid || null;
      if (program.state === 'lost') program.state = 'running';
    }
    this.registry.attachRunner(group.name, program.id, port);
    diag(`${group.name}/${program.id}: runner ${h.pid} ${h.readopt ? 're-attached' : 'joined'} (${h.argv.join(' ')})`);
    if (h.readopt) this.onReadopt(h.pid);
    this.registry.settle(group);
    return { group, program };
  }

  message(group: GroupRecord, program: ProgramRecord, msg: RunnerMessage, port: RunnerPort): void {
    switch (msg.op) {
      case 'started':
        program.instance = msg.instance;
        program.rootPid = msg.pid;
        program.instanceStartedAt = Date.now();
        program.crashed = false;
        program.restartRequested = false;
        program.state = 'running';
        this.registry.events.emit({ type: 'process-start', group: group.name, pid: msg.pid, reason: `program ${program.id} instance ${msg.instance} started`, data: { program: program.id, instance: msg.instance, root: true } });
        this.registry.settle(group);
        return;
      case 'child-exit':
        return this.childExit(group, program, msg);
      case 'stopping':
        program.stopRequested = true;
        diag(`${group.name}/${program.id}: operator sent ${signalName(msg.signal)} to the foreground durun; its end is planned`);
        this.registry.changed();
        return;
      case 'instance-end':
        return this.instanceEnd(group, program, msg, port);
    }
  }

  /** The runner link broke: the runner may come back (readopt); until then the program runs unattended. */
  gone(group: GroupRecord, program: ProgramRecord, port: RunnerPort): void {
    this.registry.detachRunner(group.name, program.id, port);
    diag(`${group.name}/${program.id}: runner link closed`);
  }

  private childExit(group: GroupRecord, program: ProgramRecord, msg: Extract<RunnerMessage, { op: 'child-exit' }>): void {
    if (this.registry.isInternal(msg.pid)) return; // a checkpoint writer the runner reaped as an orphan
    const rec = this.registry.findProcess(group, msg.pid);
    const status = msg.status ?? null;
    const signal = msg.signal ?? null;
    if (rec && rec.state === 'running') {
      this.registry.endProcess(rec, { state: signal ? 'killed' : 'exited', status, signal });
    } else if (rec) {
      // Already ended via the interceptor; the runner's wait status is authoritative.
      rec.exitStatus = status;
      rec.signal = signal;
      if (signal) rec.state = 'killed';
    }
    if (!msg.root && signal !== null) this.noteCrash(group, program, msg.pid, msg.instance, signal);
  }

  /** A non-root process died by a signal: a crash signal restarts the whole instance. */
  noteCrash(group: GroupRecord, program: ProgramRecord, pid: number, instance: number, signal: number | null): void {
    if (pid === program.rootPid || instance !== program.instance) return;
    if (program.stopRequested || program.restartRequested || program.crashed || program.state !== 'running') return;
    if (signal !== null && !isCrashSignal(signal)) return;
    program.crashed = true;
    this.registry.events.emit({ type: 'fault', group: group.name, pid, reason: `process ${pid} of program ${program.id} ${signal ? `killed by ${signalName(signal)}` : 'lost its link and is gone'}; the instance restarts`, data: { kind: 'crash', program: program.id, instance, signal } });
    diag(`${group.name}/${program.id}: process ${pid} ${signal ? `killed by ${signalName(signal)}` : 'lost its link and is gone'}; restarting the instance`);
    killInstance(this.registry, group, program, 9, 0);
    this.registry.changed();
  }

  private instanceEnd(group: GroupRecord, program: ProgramRecord, msg: Extract<RunnerMessage, { op: 'instance-end' }>, port: RunnerPort): void {
    const end = { status: msg.status ?? null, signal: msg.signal ?? null, at: Date.now() };
    program.lastExit = { status: end.status, signal: end.signal };
    const rootPid = program.rootPid;
    program.rootPid = null;
    for (const rec of this.registry.liveProcessesOf(group, program.id)) {
      if (rec.instance <= msg.instance) this.registry.endProcess(rec, { state: 'lost', status: null, signal: null });
    }
    const decision = decide(program, end);
    const planned = program.stopRequested || program.restartRequested;
    this.registry.events.emit({ type: 'process-end', group: group.name, pid: rootPid, reason: `program ${program.id} instance ${msg.instance} ended (${describeEnd(end)})`, data: { program: program.id, instance: msg.instance, root: true, status: end.status, signal: end.signal, planned: !program.crashed && end.signal === null || planned } });
    if (!planned && (program.crashed || end.signal !== null)) {
      this.registry.events.emit({ type: 'fault', group: group.name, pid: rootPid, reason: `program ${program.id} crashed (${describeEnd(end)})`, data: { kind: 'crash', program: program.id, instance: msg.instance, status: end.status, signal: end.signal } });
    }
    if (decision.action === 'restart') {
      if (decision.counted) {
        program.restarts++;
        program.restartTimes = [...program.restartTimes.filter((t) => end.at - t < program.options.restartWindowMs), end.at];
        program.consecutiveRestarts = decision.delayMs === 0 && program.consecutiveRestarts > 0 ? 1 : program.consecutiveRestarts + 1;
      }
      program.state = 'restarting';
      program.instance = msg.instance + 1;
      diag(`${group.name}/${program.id}: instance ${msg.instance} ended (${describeEnd(end)}); restart in ${decision.delayMs} ms`);
      this.registry.events.emit({ type: 'restart', group: group.name, pid: null, reason: `program ${program.id} restarts in ${decision.delayMs} ms${decision.counted ? '' : ' (requested)'}`, data: { program: program.id, instance: program.instance, delayMs: decision.delayMs } });
      port.send({ op: 'restart', delayMs: decision.delayMs, instance: program.instance });
    } else {
      program.state = decision.failed ? 'failed' : program.stopRequested ? 'stopped' : 'exited';
      if (decision.failed) group.failedReason = `program ${program.id}: ${decision.failed}`;
      if (decision.failed) this.registry.events.emit({ type: 'group-failed', group: group.name, pid: null, reason: group.failedReason!, data: { program: program.id } });
      diag(`${group.name}/${program.id}: instance ${msg.instance} ended (${describeEnd(end)}); ${decision.failed ? `group failed: ${decision.failed}` : 'finished'}`);
      port.send({ op: 'finish', code: decision.code, ...(decision.failed ? { reason: `group ${group.name} failed: ${decision.failed}` } : {}) });
    }
    this.registry.settle(group);
  }
}
