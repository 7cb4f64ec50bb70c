// Splits a byte stream into protocol lines; a line over the cap (MSG_MAX for
// what the supervisor receives) is an error, so a peer can never make the
// other side buffer without bound.
import { MSG_MAX } from './names.js';

export class LineSplitter {
  private pending = '';
  constructor(private readonly onLine: (line: string) => void, private readonly onOverflow: () => void, private readonly max = MSG_MAX) {}

  push(chunk: Buffer | string): void {
    this.pending += chunk.toString();
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      if (line.length > 0) this.onLine(line);
    }
    if (this.pending.length > this.max) {
      this.pending = '';
      this.onOverflow();
    }
  }
}
