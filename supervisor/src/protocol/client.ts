// The one way a face (CLI, TUI) talks to the supervisor: connect (starting a
// supervisor on demand), send requests, await their results.
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { LineSplitter } from './lines.js';
import { ensurePrivateHome, socketPath } from './home.js';
import type { ClientResult } from './messages.js';
import { ENV } from './names.js';

/** A failure the operator can act on; the message is one line saying what to do. */
export class ClientError extends Error {}

/** Answers (a `ps` of many groups) may be far longer than requests; still bounded. */
const RESULT_MAX = 256 * 1024 * 1024;

const SUPERVISOR_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'main.js');

/**
 * V8 flags every supervisor runs with (launcher/c/home.c passes the same) to
 * keep the long-lived, mostly idle daemon small (bench/idle-footprint.ts):
 * - a 1 MiB young generation: after 200 registrations it had grown to 8 MiB
 *   and stayed so at idle;
 * - optimise a function only after about 15 times V8's default amount of work
 *   in it: start-up and a burst of registrations no longer wake the optimising
 *   compiler, whose code pages and output were 4-5 MiB of the idle RSS; what
 *   stays hot is still optimised (supervisor CPU over 1,000 fork+exec was the
 *   same within this VM's noise).
 * --no-opt and --lite-mode also saved memory but cost CPU under sustained load.
 */
export const SUPERVISOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--interrupt-budget=1000000'];

function connectOnce(sock: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(sock);
    s.once('connect', () => { s.removeAllListeners('error'); resolve(s); });
    s.once('error', reject);
  });
}

/**
 * Starts `node supervisor/main.js` for this home, detached from us (execa,
 * loaded only here: most commands find a supervisor running and never pay
 * for it).
 */
export async function startSupervisor(home: string): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, [ENV.home]: home };
  delete env.LD_PRELOAD;
  for (const key of Object.values(ENV)) if (key !== ENV.home) delete env[key];
  const { execa } = await import('execa');
  const child = execa(process.execPath, [...SUPERVISOR_NODE_FLAGS, SUPERVISOR_MAIN], { detached: true, stdio: 'ignore', env, extendEnv: false, cleanup: false, reject: false });
  child.unref();
}

/** role: `client` (the CLI, the TUI) or `state` (a program using the checkpoint API, state-client.ts). */
export interface ConnectOptions { startIfDown?: boolean; timeoutMs?: number; role?: 'client' | 'state' }

export class Client {
  private nextId = 1;
  private waiting = new Map<number, { resolve: (r: ClientResult) => void; reject: (e: Error) => void }>();
  private refusal: string | null = null;
  /** Unsolicited messages (`event` pushes of `events --follow`). */
  onPush: (msg: Record<string, unknown>) => void = () => {};
  /** Called once when the supervisor closes the connection. */
  onClosed: () => void = () => {};
  /** The supervisor's answer to a hello that gets one (role state): `accepted`, or its refusal. */
  readonly accepted: Promise<Record<string, unknown>>;
  private settleHello: { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void } = { resolve: () => {}, reject: () => {} };

  private constructor(private readonly socket: net.Socket) {
    this.accepted = new Promise((resolve, reject) => (this.settleHello = { resolve, reject }));
    this.accepted.catch(() => { /* only a state link awaits it */ });
    const splitter = new LineSplitter((line) => this.onLine(line), () => this.failAll(new ClientError('supervisor sent an oversized message')), RESULT_MAX);
    socket.on('data', (d) => splitter.push(d));
    socket.on('close', () => {
      const closed = new ClientError(this.refusal ?? 'the supervisor closed the connection (see supervisor.log in DURUN_HOME)');
      this.settleHello.reject(closed);
      this.failAll(closed);
      this.onClosed();
    });
    socket.on('error', () => { /* 'close' follows and reports */ });
  }

  static async connect(home: string, opts: ConnectOptions = {}): Promise<Client> {
    // Only a command that may start a supervisor creates the home: `durun health` from cron must leave no trace.
    if (opts.startIfDown !== false) ensurePrivateHome(home);
    const sock = socketPath(home);
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    let started = false;
    for (;;) {
      try {
        const socket = await connectOnce(sock);
        const client = new Client(socket);
        socket.write(JSON.stringify({ v: 1, op: 'hello', role: opts.role ?? 'client', pid: process.pid }) + '\n');
        // A state link is accepted or refused (the group is not known from the message): wait for which.
        if (opts.role === 'state') await client.accepted;
        return client;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EACCES') throw new ClientError(`permission denied on ${sock}: it belongs to another user; use a DURUN_HOME of your own`);
        if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw new ClientError(`cannot connect to ${sock}: ${(err as Error).message}`);
        if (opts.startIfDown === false) throw new ClientError(`no supervisor is running for ${home}`);
        if (!started) { await startSupervisor(home); started = true; }
        if (Date.now() > deadline) throw new ClientError(`the supervisor did not come up within 5 s; see ${path.join(home, 'supervisor.log')}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }

  /** Sends one request and resolves with its data, or rejects with the supervisor's one-line error. */
  request<T = unknown>(op: string, fields: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<ClientResult>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.write(JSON.stringify({ v: 1, op, id, ...fields }) + '\n');
    }).then((res) => {
      if (!res.ok) throw new ClientError(res.error ?? 'request failed');
      return res.data as T;
    });
  }

  close(): void {
    this.socket.end();
  }

  private onLine(line: string): void {
    let msg: Omit<ClientResult, "op"> & { op: string; message?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return this.failAll(new ClientError('supervisor sent a malformed line'));
    }
    if (msg.op === 'event') {
      this.onPush(msg as unknown as Record<string, unknown>);
      return;
    }
    if (msg.op === 'error') {
      this.refusal = msg.message ?? 'refused by the supervisor';
      this.settleHello.reject(new ClientError(this.refusal));
      return;
    }
    if (msg.op === 'accepted') {
      this.settleHello.resolve(msg as unknown as Record<string, unknown>);
      return;
    }
    const w = this.waiting.get(msg.id);
    if (!w) return;
    this.waiting.delete(msg.id);
    w.resolve(msg as ClientResult);
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
