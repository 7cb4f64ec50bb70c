// The checkpoint API for Node programs (published as `durun/state`; the C
// library preload/api/ and `durun ckpt` speak the same messages): save a
// value under a key with a logical timestamp, load it, remove it, and learn
// this program's role in an active/standby pair. The supervisor finds the
// program's group from its process, and decides where saves go.
import { Client, ClientError } from './client.js';
import { resolveHome } from './home.js';
import type { ListResult, LoadResult, RoleResult, SaveResult, StateRole } from './state-messages.js';

export type { StateRole };
export { ClientError as StateError };

export class DurunState {
  private client: Client | null = null;

  private constructor(private readonly home: string) {}

  /** Opens the link of a program started by durun (DURUN_HOME is in its environment). */
  static async open(env: NodeJS.ProcessEnv = process.env): Promise<DurunState> {
    const s = new DurunState(resolveHome(env));
    await s.link();
    return s;
  }

  private async link(): Promise<Client> {
    if (!this.client) {
      const c = await Client.connect(this.home, { startIfDown: false, role: 'state' });
      c.onClosed = () => {
        if (this.client === c) this.client = null;
      };
      this.client = c;
    }
    return this.client;
  }

  /** One request; a link that broke (supervisor restarted) is opened again once. */
  private async request<T>(op: string, fields: Record<string, unknown> = {}): Promise<T> {
    const first = await this.link();
    try {
      return await first.request<T>(op, fields);
    } catch (err) {
      if (this.client === first) throw err; // the link is up: a real refusal
      return (await this.link()).request<T>(op, fields);
    }
  }

  /** Saves data under key; true once stored at the destination, false when ignored (the key holds an equal or later ts). ts omitted: one past the key's newest. */
  async save(key: string, data: Buffer | string, ts?: number): Promise<boolean> {
    const r = await this.request<SaveResult>('save', { key, data: Buffer.from(data).toString('base64'), ...(ts === undefined ? {} : { ts }) });
    return r.accepted;
  }

  /** The value and timestamp under key, or null. */
  async load(key: string): Promise<{ data: Buffer; ts: number } | null> {
    const r = await this.request<LoadResult>('load', { key });
    return r.found ? { data: Buffer.from(r.data ?? '', 'base64'), ts: r.ts ?? 0 } : null;
  }

  /** Removes key; whether it held a value. */
  async remove(key: string): Promise<boolean> {
    return (await this.request<{ removed: boolean }>('remove', { key })).removed;
  }

  async list(): Promise<ListResult['keys']> {
    return (await this.request<ListResult>('list')).keys;
  }

  /** This program's role now: solo (no pair), active or standby. */
  async role(): Promise<StateRole> {
    return (await this.request<RoleResult>('role')).role;
  }

  /** Resolves once the role is no longer `known` (a standby's promotion). */
  async waitRole(known: StateRole): Promise<StateRole> {
    return (await this.request<RoleResult>('role', { wait: true, known })).role;
  }

  close(): void {
    this.client?.close();
    this.client = null;
  }
}
