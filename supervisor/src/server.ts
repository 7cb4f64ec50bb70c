// The control socket: accepts connections, refuses other users (SO_PEERCRED),
// frames lines, and hands each connection to the handler of its role.
import net from 'node:net';
import { chmodSync, unlinkSync } from 'node:fs';
import { LineSplitter } from './protocol/lines.js';
import { ProtocolError, type ClientRequest, parseClientRequest, strings, parseHello, parseLine, parseProcMessage, parseRunnerMessage } from './protocol/messages.js';
import type { Registry, RunnerPort } from './model/registry.js';
import type { GroupRecord, ProgramRecord } from './model/types.js';
import type { ProcEvents, ProcLinkState } from './proc-events.js';
import type { RunnerEvents } from './runner-events.js';
import type { ClientEvents } from './client-events.js';
import type { HealthService } from './health/service.js';
import type { CheckpointService } from './checkpoint/service.js';
import type { StateService } from './state/service.js';
import { parseStateRequest } from './protocol/state-messages.js';
import { CHECKPOINT_OPS, type CheckpointRequest } from './protocol/checkpoint-requests.js';
import { HEALTH_OPS, type HealthRequest } from './protocol/health-requests.js';
import { OPS_OPS, type OpsRequest } from './protocol/ops-requests.js';
import { CLUSTER_OPS, type ClusterRequest } from './protocol/cluster-requests.js';
import { handleClusterRequest, handleMigrateTo, type ClusterSlot } from './cluster/requests.js';
import type { OpsService } from './groups/ops-service.js';
import type { LaunchSpecs } from './groups/launch-specs.js';
import { addon } from './peercred.js';
import { childByInnerPid } from './procfs.js';
import { diag } from './diag.js';

/** Requests of one client connection being answered at once; more wait in its queue. */
const MAX_IN_FLIGHT = 16;
/** Lines a client connection may have waiting before reading from it pauses. */
const MAX_QUEUED = 256;

/** Our uid, read once (every connection is checked against it). */
const OWN_UID = process.getuid!();

type Role =
  | { kind: 'new' }
  | { kind: 'proc'; link: ProcLinkState; inner: number; send: (m: Record<string, unknown>) => void }
  | { kind: 'runner'; group: GroupRecord; program: ProgramRecord; port: RunnerPort }
  | { kind: 'client' }
  | { kind: 'state'; group: string }
  | { kind: 'writer'; group: string; id: string; member: number; pid: number };

export interface Handlers { registry: Registry; procs: ProcEvents; runners: RunnerEvents; clients: ClientEvents; health?: HealthService; ckpt?: CheckpointService; ops?: OpsService; specs?: LaunchSpecs; state?: StateService; cluster?: ClusterSlot }

export class ControlServer {
  private readonly server: net.Server;
  /** Pids with an open interceptor link (a pid may briefly have two around exec). */
  readonly linked = new Map<number, number>();

  constructor(private readonly sockPath: string, private readonly h: Handlers) {
    this.server = net.createServer((s) => this.accept(s));
    h.procs.onForked = (group, pid) => h.ckpt?.coord.forked(group, pid);
  }

  listen(): Promise<void> {
    try {
      unlinkSync(this.sockPath); // stale socket of a dead supervisor; we hold the lock, so no live one uses it
    } catch {
      // ENOENT: nothing to remove
    }
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      // Backlog well above the default: a shell loop forks faster than we accept.
      this.server.listen({ path: this.sockPath, backlog: 4096 }, () => {
        chmodSync(this.sockPath, 0o600);
        resolve();
      });
    });
  }

  close(): void {
    this.server.close();
  }

  linkedPids(): Set<number> {
    return new Set(this.linked.keys());
  }

  private accept(sock: net.Socket): void {
    const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
    let cred: { pid: number; uid: number } | null = null;
    try {
      if (typeof fd === 'number') cred = addon.peerCred(fd);
    } catch (err) {
      diag(`SO_PEERCRED failed: ${(err as Error).message}`);
    }
    const me = OWN_UID;
    if (!cred || cred.uid !== me) {
      const who = cred ? `uid ${cred.uid} (pid ${cred.pid})` : 'a peer whose credentials could not be read';
      diag(`refused connection from ${who}`);
      sock.end(JSON.stringify({ v: 1, op: 'error', message: `refused: this supervisor belongs to uid ${me}; ${who} may not use it. Use a DURUN_HOME of your own.` }) + '\n');
      return;
    }
    let role: Role = { kind: 'new' };
    /** Run when the connection closes (an `events --follow` unsubscribes). */
    const closers: Array<() => void> = [];
    /** written (optional): called once the line is handed to the kernel (a checkpoint signals only then). */
    const send = (msg: Record<string, unknown>, written?: () => void) => {
      if (!sock.destroyed) sock.write(JSON.stringify({ v: 1, ...msg }) + '\n', written);
    };
    // A client's requests wait in a bounded queue: a pipelined flood is
    // answered in order, MAX_IN_FLIGHT at a time, and reading pauses while
    // the queue is full (the kernel's socket buffer holds the rest).
    const queued: string[] = [];
    let inFlight = 0;
    const run = (line: string) => {
      try {
        if (role.kind === 'client') inFlight++;
        const wasClient = role.kind === 'client';
        role = this.dispatch(role, line, send, closers, cred!.pid, answered);
        if (wasClient && role.kind !== 'client') inFlight--;
      } catch (err) {
        if (role.kind === 'client') answered();
        if (!(err instanceof ProtocolError)) throw err;
        send({ op: 'error', message: err.message });
        if (role.kind === 'new') sock.destroy();
      }
    };
    const answered = () => {
      inFlight--;
      while (inFlight < MAX_IN_FLIGHT && queued.length) run(queued.shift()!);
      if (queued.length < MAX_QUEUED / 2 && sock.isPaused()) sock.resume();
    };
    const splitter = new LineSplitter(
      (line) => {
        if (role.kind !== 'client' || inFlight < MAX_IN_FLIGHT) return run(line);
        queued.push(line);
        if (queued.length >= MAX_QUEUED) sock.pause();
      },
      () => {
        send({ op: 'error', message: 'message longer than 64 KiB' });
        sock.destroy();
      },
    );
    sock.on('data', (d) => splitter.push(d));
    sock.on('error', () => { /* ECONNRESET from a killed peer; 'close' handles it */ });
    sock.on('close', () => {
      this.closed(role);
      for (const f of closers) f();
    });
  }

  private dispatch(role: Role, line: string, send: (m: Record<string, unknown>) => void, closers: Array<() => void> = [], peerPid = 0, answered: () => void = () => {}): Role {
    const msg = parseLine(line);
    switch (role.kind) {
      case 'new': {
        const hello = parseHello(msg);
        if (hello.role === 'client') return { kind: 'client' };
        if (hello.role === 'state') {
          // The checkpoint API: the group is the one the connecting pid is proven to belong to.
          if (!this.h.state) throw new ProtocolError('this supervisor has no checkpoint API');
          const accepted = this.h.state.hello(peerPid);
          send({ op: 'accepted', ...accepted });
          return { kind: 'state', group: accepted.group };
        }
        if (hello.role === 'writer') {
          this.h.ckpt?.writerHello(hello.group, hello.id, hello.pid, peerPid);
          return { kind: 'writer', group: hello.group, id: hello.id, member: hello.pid, pid: peerPid };
        }
        if (hello.role === 'proc') {
          // From inside a pid namespace (a restored process) the pid is its own view; we keep the outside one.
          const outside = this.h.ckpt ? this.h.ckpt.outside(hello, peerPid) : hello;
          const link = this.h.procs.hello(outside);
          this.linked.set(link.pid, (this.linked.get(link.pid) ?? 0) + 1);
          this.h.ckpt?.attached(outside, hello.pid, send);
          return { kind: 'proc', link, inner: hello.pid, send };
        }
        const port: RunnerPort = { send };
        const res = this.h.runners.hello(hello, port, peerPid);
        if ('error' in res) {
          send({ op: 'error', message: res.error });
          return role;
        }
        send({ op: 'accepted', program: res.program.id, instance: res.program.instance, logPath: res.program.logPath });
        // --env, --cwd, --user, --limit as the runner was given them (durun start, save, resurrect relaunch with them).
        if (!hello.readopt) this.h.specs?.remember(res.group.name, res.program.id, Array.isArray(msg.runArgs) ? strings(msg, 'runArgs') : []);
        return { kind: 'runner', group: res.group, program: res.program, port };
      }
      case 'proc': {
        const m = parseProcMessage(msg);
        if (role.inner !== role.link.pid) {
          // Pids as the namespaced process sees them, to the outside view.
          if (m.pid === role.inner) m.pid = role.link.pid;
          if (m.op === 'reaped') m.child = this.h.ckpt?.coord.outerOf(role.link.group, m.child) ?? m.child;
          if (m.op === 'fork') m.child = childByInnerPid(role.link.pid, m.child) ?? 0; // not registered yet: found in /proc
          if ((m.op === 'exec' || m.op === 'exec-failed') && m.pid !== role.link.pid) m.pid = childByInnerPid(role.link.pid, m.pid) ?? 0; // a child's announce
        }
        if (!this.h.ckpt?.message(role.link.pid, m)) this.h.procs.message(role.link, m);
        return role;
      }
      case 'state': {
        const req = parseStateRequest(msg);
        this.h.state!.handle(role.group, req, (f) => closers.push(f)).then(
          (data) => send({ op: 'result', id: req.id, ok: true, data }),
          (err: Error) => send({ op: 'result', id: req.id, ok: false, error: err.message }),
        );
        return role;
      }
      case 'runner':
        this.h.runners.message(role.group, role.program, parseRunnerMessage(msg));
        return role;
      case 'writer':
        this.h.ckpt?.writerMessage(role.group, role.member, parseProcMessage(msg));
        return role;
      case 'client': {
        const req = parseClientRequest(msg);
        const moveTo = req.op === 'migrate' ? (req as CheckpointRequest & { op: 'migrate' }).to : undefined;
        const answer = moveTo && this.h.cluster
          ? handleMigrateTo(this.h.cluster, (req as CheckpointRequest).group, moveTo)
          : HEALTH_OPS.has(req.op) && this.h.health
          ? this.h.health.handle(req as HealthRequest, { send, onClose: (f) => closers.push(f) })
          : CHECKPOINT_OPS.has(req.op) && this.h.ckpt
            ? this.h.ckpt.handle(req as CheckpointRequest)
            : OPS_OPS.has(req.op) && this.h.ops
              ? this.h.ops.handle(req as OpsRequest)
              : CLUSTER_OPS.has(req.op) && this.h.cluster
                ? handleClusterRequest(this.h.cluster, req as ClusterRequest)
                : this.h.clients.handle(req as ClientRequest);
        void answer.then(
          (data) => send({ op: 'result', id: req.id, ok: true, data }),
          (err: Error) => send({ op: 'result', id: req.id, ok: false, error: err.message }),
        ).finally(answered);
        return role;
      }
    }
  }

  private closed(role: Role): void {
    if (role.kind === 'proc') {
      const n = (this.linked.get(role.link.pid) ?? 1) - 1;
      if (n <= 0) this.linked.delete(role.link.pid);
      else this.linked.set(role.link.pid, n);
      if (n <= 0) this.h.procs.closed(role.link);
      this.h.ckpt?.detached(role.link.pid, role.send);
    } else if (role.kind === 'runner') {
      this.h.runners.gone(role.group, role.program, role.port);
    }
  }
}
