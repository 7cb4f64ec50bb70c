// Reads JSON lines and counted byte runs, in turn, from one stream (the
// replication connection): an async iterator with what is left over.
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Longest control line accepted (a manifest travels as counted bytes, not as a line). */
const MAX_LINE = 64 * 1024;

export class StreamReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async more(): Promise<boolean> {
    const r = await this.it.next();
    if (r.done) return false;
    this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    return true;
  }

  /** The next line parsed as JSON; null at a clean end of stream. */
  async line(): Promise<Record<string, unknown> | null> {
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (nl >= 0) {
        const text = this.buf.subarray(0, nl).toString('utf8');
        this.buf = this.buf.subarray(nl + 1);
        const v = JSON.parse(text) as unknown;
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('a control line is not a JSON object');
        return v as Record<string, unknown>;
      }
      if (this.buf.length > MAX_LINE) throw new Error(`a control line is longer than ${MAX_LINE} bytes`);
      if (!(await this.more())) {
        if (this.buf.length) throw new Error('the stream ended in the middle of a line');
        return null;
      }
    }
  }

  /** Exactly n bytes into sink (not ended here); throws if the stream ends first. */
  async bytes(n: number, sink: Writable): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw new Error(`the stream ended ${left} bytes short`);
      const take = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(take.length);
      left -= take.length;
      if (!sink.write(take)) await once(sink, 'drain');
    }
  }

  /** Exactly n bytes, in memory (small payloads: a manifest). */
  async small(n: number): Promise<Buffer> {
    while (this.buf.length < n) if (!(await this.more())) throw new Error(`the stream ended ${n - this.buf.length} bytes short`);
    const out = Buffer.from(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
    return out;
  }
}
