// A program in a real pseudo-terminal (node-pty) whose output feeds a terminal
// emulator (@xterm/headless), so a test reads the screen as a person sees it:
// characters, colours, the alternate screen and the modes the program left.
import * as pty from 'node-pty';
import xterm from '@xterm/headless';
import { waitFor } from './wait.js';

export interface Cell { char: string; fg: number | null; bold: boolean; inverse: boolean }

export class VirtualTerminal {
  readonly term: InstanceType<typeof xterm.Terminal>;
  readonly proc: pty.IPty;
  /** Everything the program wrote, as bytes came (for escapes the screen no longer shows). */
  raw = '';
  private pending = 0;
  readonly exited: Promise<number>;

  constructor(file: string, args: string[], env: NodeJS.ProcessEnv, cols = 120, rows = 36) {
    this.term = new xterm.Terminal({ cols, rows, allowProposedApi: true, scrollback: 0 });
    this.proc = pty.spawn(file, args, { name: 'xterm-256color', cols, rows, env: { ...env, TERM: 'xterm-256color', LANG: 'C.UTF-8' } as Record<string, string> });
    this.proc.onData((d) => {
      this.raw += d;
      this.pending++;
      this.term.write(d, () => this.pending--);
    });
    this.exited = new Promise((resolve) => this.proc.onExit(({ exitCode }) => resolve(exitCode)));
  }

  /** The screen's rows as text (trailing blanks cut). */
  lines(): string[] {
    const b = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.term.rows; y++) out.push(b.getLine(b.viewportY + y)?.translateToString(true) ?? '');
    return out;
  }

  text(): string {
    return this.lines().join('\n');
  }

  /** The cells of row y. */
  row(y: number): Cell[] {
    const b = this.term.buffer.active;
    const line = b.getLine(b.viewportY + y);
    const out: Cell[] = [];
    for (let x = 0; x < this.term.cols; x++) {
      const c = line?.getCell(x);
      if (!c) break;
      out.push({ char: c.getChars() || ' ', fg: c.isFgDefault() ? null : c.getFgColor(), bold: c.isBold() !== 0, inverse: c.isInverse() !== 0 });
    }
    return out;
  }

  /** Waits until the emulator has taken in all output and check(screen text) holds. */
  screen<T>(what: string, check: (text: string, lines: string[]) => T, timeoutMs = 15_000): Promise<NonNullable<T>> {
    return waitFor(what, () => (this.pending === 0 ? check(this.text(), this.lines()) : undefined), timeoutMs, 25).catch((err: Error) => {
      throw new Error(`${err.message}\n--- screen ---\n${this.text()}\n--------------`);
    });
  }

  keys(s: string): void {
    this.proc.write(s);
  }

  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
    this.proc.resize(cols, rows);
  }

  kill(): void {
    try {
      this.proc.kill('SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    this.term.dispose();
  }
}
