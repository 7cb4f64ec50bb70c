// The TUI's line to this home's supervisor, through the protocol client only:
// one connection that follows the event stream (pushed by the supervisor, as
// for `durun events --follow`) and asks for figures at most once a second.
// When the supervisor goes away it says so and tries again every second,
// without starting one itself: an operator's `durun shutdown` stays done.
import { Client, ClientError } from '../../supervisor/src/protocol/client.js';
import type { PsCluster, PsView, StatusView } from '../../supervisor/src/protocol/views.js';
import type { ChecksAnswer, CheckStatus, EventsAnswer } from '../../supervisor/src/protocol/health-requests.js';
import type { CheckpointsAnswer, CheckpointView } from '../../supervisor/src/protocol/checkpoint-requests.js';
import type { DurunEvent } from '../../supervisor/src/protocol/events.js';
import type { GroupView } from '../../supervisor/src/protocol/views.js';

/** Figures (ps, health) are asked for at most this often. */
export const REFRESH_MS = 1000;
/** Events asked for on (re)connecting: a screenful and more, never the whole journal. */
const EVENTS_ON_CONNECT = 300;

export interface LinkListener {
  up(status: StatusView): void;
  down(reason: string): void;
  figures(groups: GroupView[], checks: CheckStatus[], cluster: PsCluster | null): void;
  events(events: DurunEvent[]): void;
  checkpoints(group: string, list: CheckpointView[]): void;
  /** A failure that is not the supervisor going away (a refused request of ours). */
  trouble(message: string): void;
}

export class SupervisorLink {
  private client: Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private asking = false;
  /** A connection attempt is under way (a slow one must not be doubled by the next tick). */
  private connecting = false;
  private readonly knownCheckpoints = new Set<string>();

  constructor(private readonly home: string, private readonly listener: LinkListener) {}

  /** Connects (starting a supervisor the first time only, like `durun ps`), then keeps the figures coming. */
  async start(): Promise<void> {
    await this.connect(true);
    this.timer = setInterval(() => void this.tick(), REFRESH_MS);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.client?.close();
    this.client = null;
  }

  /** Sends one request of the operator's; rejects with a line to show when the supervisor is away or refuses. */
  request<T>(op: string, fields: Record<string, unknown>): Promise<T> {
    if (!this.client) return Promise.reject(new ClientError('supervisor not running'));
    return this.client.request<T>(op, fields);
  }

  /** Asks for a group's checkpoints again (after `c`, `R` or a checkpoint event). */
  refreshCheckpoints(group: string): void {
    const c = this.client;
    if (!c) return;
    c.request<CheckpointsAnswer>('checkpoints', { group }).then(
      (a) => this.listener.checkpoints(group, a.checkpoints),
      // a group that ended meanwhile has none to list; anything else is worth a line
      (err: Error) => (/unknown group/.test(err.message) ? this.listener.checkpoints(group, []) : this.listener.trouble(`checkpoints of ${group}: ${err.message}`)),
    );
  }

  private async connect(startIfDown: boolean): Promise<void> {
    if (this.connecting) return;
    this.connecting = true;
    try {
      await this.attach(startIfDown);
    } finally {
      this.connecting = false;
    }
  }

  private async attach(startIfDown: boolean): Promise<void> {
    let client: Client;
    try {
      client = await Client.connect(this.home, { startIfDown });
    } catch (err) {
      this.listener.down((err as Error).message);
      return;
    }
    if (this.closed) return client.close();
    client.onPush = (msg) => this.listener.events([msg.event as DurunEvent]);
    client.onClosed = () => {
      if (this.client !== client) return;
      this.client = null;
      this.knownCheckpoints.clear();
      this.listener.down('the supervisor closed the connection');
    };
    try {
      const status = await client.request<StatusView>('status');
      const first = await client.request<EventsAnswer>('events', { follow: true, last: EVENTS_ON_CONNECT });
      this.client = client;
      this.listener.up(status);
      this.listener.events(first.events);
      await this.ask(client);
    } catch (err) {
      client.close();
      this.listener.down((err as Error).message);
    }
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    if (!this.client) return this.connect(false);
    if (!this.asking) await this.ask(this.client);
  }

  /** One round of figures; a group seen for the first time also gets its checkpoints listed. */
  private async ask(client: Client): Promise<void> {
    this.asking = true;
    try {
      const [ps, health] = await Promise.all([client.request<PsView>('ps'), client.request<ChecksAnswer>('health', { cached: true })]);
      if (client !== this.client) return;
      this.listener.figures(ps.groups, health.checks, ps.cluster ?? null);
      for (const g of ps.groups) {
        if (this.knownCheckpoints.has(g.name)) continue;
        this.knownCheckpoints.add(g.name);
        this.refreshCheckpoints(g.name);
      }
    } catch (err) {
      // a lost connection is reported by onClosed; a refusal is worth a line
      if (client === this.client) this.listener.trouble((err as Error).message);
    } finally {
      this.asking = false;
    }
  }
}
