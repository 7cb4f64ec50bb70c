// Splits a byte stream into protocol lines; a line over MSG_MAX is an error,
// so a peer can never make the other side buffer without bound.
import { MSG_MAX } from './names.js';

export class LineSplitter {
  private pending = '';
  constructor(private readonly onLine: (line: string) => void, private readonly onOverflow: () => void) {}

  push(chunk: Buffer | string): void {
    this.pending += chunk.toString();
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      if (line.length > 0) this.onLine(line);
    }
    if (this.pending.length > MSG_MAX) {
      this.pending = '';
      this.onOverflow();
    }
  }
}
