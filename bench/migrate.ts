// Live move as its client sees it: redis-server under durun holding about
// MIB of data (DEBUG POPULATE), one client on one connection sending INCR
// every millisecond and timing each answer. The baseline is the slowest
// answer over the same number of seconds without a move, in the same run;
// then `durun migrate` (from the CLI, as an operator runs it) several times,
// each one's slowest answer being the freeze the client saw. Every answer
// must be the next count on the same connection, or the run fails.
import { execa } from 'execa';
import type net from 'node:net';
import { DURUN, benchHome, fmt, median, type Row } from './lib.js';
import { connect, resp, startRedis } from './redis.js';

const PORT = 19031;

/** One connection, one INCR in flight, every ms; worstSince() is the slowest answer since a mark. */
class PingingClient {
  private n = 0;
  private worst = 0;
  private stopped = false;
  failure = '';
  private readonly loop: Promise<void>;

  constructor(private readonly sock: net.Socket) {
    sock.on('error', (e) => (this.failure ||= e.message));
    sock.on('close', () => (this.failure ||= 'connection closed'));
    this.loop = this.run();
  }

  /** One answer; '' if the connection ended or nothing came within 10 s (failure says which). */
  private ask(): Promise<string> {
    return new Promise((resolve) => {
      let got = '';
      const done = (answer: string, why?: string) => {
        if (why) this.failure ||= why;
        clearTimeout(timer);
        this.sock.off('data', onData);
        this.sock.off('close', onClose);
        resolve(answer);
      };
      const onData = (d: Buffer) => {
        got += d.toString();
        if (got.endsWith('\r\n')) done(got);
      };
      const onClose = () => done('', 'connection closed');
      const timer = setTimeout(() => done('', `no answer within 10 s to request ${this.n + 1}`), 10_000);
      this.sock.on('data', onData);
      this.sock.once('close', onClose);
      this.sock.write(resp('INCR', 'bench:n'));
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped && !this.failure) {
      const t0 = process.hrtime.bigint();
      const answer = await this.ask();
      if (this.failure) break;
      this.worst = Math.max(this.worst, Number(process.hrtime.bigint() - t0) / 1e6);
      if (answer !== `:${++this.n}\r\n`) this.failure = `answer ${JSON.stringify(answer)} where :${this.n} was due`;
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** The slowest answer since the last call. */
  takeWorst(): number {
    const w = this.worst;
    this.worst = 0;
    return w;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.sock.destroy();
  }
}

export async function migrateBench(moves = 5, mib = Number(process.env.DURUN_BENCH_MIGRATE_MIB) || 256): Promise<Row[]> {
  if (process.getuid?.() !== 0) throw new Error('the live-move benchmark needs root (TCP_REPAIR)');
  const home = benchHome();
  let redis: { stop(): void } | null = null;
  let client: PingingClient | null = null;
  try {
    redis = await startRedis(home, 'moved', PORT, mib);
    client = new PingingClient(await connect(PORT));
    const baseline: number[] = [];
    const frozen: number[] = [];
    const cli: number[] = [];
    for (let i = 0; i < moves; i++) {
      // the same stretch of time without a move, then with one
      client.takeWorst();
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 3000));
      baseline.push(client.takeWorst());
      const r = await execa(DURUN, ['migrate', 'moved'], { env: home.env, reject: false });
      if (r.exitCode !== 0) throw new Error(`durun migrate: ${r.stderr}`);
      cli.push(Date.now() - t0 - 3000);
      await new Promise((r2) => setTimeout(r2, 200));
      frozen.push(client.takeWorst());
      if (client.failure) throw new Error(`the client's connection broke across the move: ${client.failure}`);
    }
    return [{
      benchmark: `durun migrate of redis-server holding ${mib} MiB, a client sending INCR every ms on one connection: its slowest answer (${moves} moves)`,
      baseline: `${fmt(median(baseline))} (slowest answer over 3 s without a move, median)`,
      durun: `median ${fmt(median(frozen))}, max ${fmt(Math.max(...frozen))}; the command took ${fmt(median(cli))} (median, pre-copy included)`,
      ratio: `+${fmt(median(frozen) - median(baseline))}; connection kept, every answer in order`,
      aim: 'freeze ≤ 150 ms (CRIU same-host dump+restore: 931 ms)',
    }];
  } finally {
    await client?.stop();
    home.close();
    redis?.stop();
  }
}
