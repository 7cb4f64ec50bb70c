// Program log files as the faces read them: `durun logs` merges a group's
// (every line starts with an ISO-8601 time, so text order is time order) and
// follows them; the TUI shows the tail of one.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';

export interface LogFile { id: number; logPath: string }

/** The current file and its rotated predecessors, oldest first. */
function generations(file: string): string[] {
  return [3, 2, 1].map((n) => `${file}.${n}`).filter(existsSync).concat(existsSync(file) ? [file] : []);
}

export function readLogLines(files: LogFile[], tail: number | null): string[] {
  const lines = files.flatMap((f) => generations(f.logPath).flatMap((g) => readFileSync(g, 'utf8').split('\n').filter(Boolean)));
  lines.sort();
  return tail === null ? lines : lines.slice(Math.max(0, lines.length - tail));
}

/** Prints lines appended to the files from now on, until the process is interrupted. */
export function followLogs(files: LogFile[], write: (s: string) => void): void {
  const offsets = new Map(files.map((f) => [f.logPath, existsSync(f.logPath) ? statSync(f.logPath).size : 0]));
  const poll = () => {
    for (const f of files) {
      if (!existsSync(f.logPath)) continue;
      const size = statSync(f.logPath).size;
      let from = offsets.get(f.logPath) ?? 0;
      if (size < from) from = 0; // rotated: the new file starts from the beginning
      if (size === from) continue;
      const fd = openSync(f.logPath, 'r');
      try {
        const buf = Buffer.alloc(size - from);
        readSync(fd, buf, 0, buf.length, from);
        write(buf.toString());
      } finally {
        closeSync(fd);
      }
      offsets.set(f.logPath, size);
    }
  };
  setInterval(poll, 200);
}

/** How much of a log's end tailLines reads: enough for a screen, whatever the file's size. */
const TAIL_BYTES = 64 * 1024;

/** The last `n` lines of one log file, read from its end only; none if it does not exist (yet). */
export function tailLines(file: string, n: number): string[] {
  if (!existsSync(file)) return [];
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    const from = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - from);
    readSync(fd, buf, 0, buf.length, from);
    const lines = buf.toString().split('\n').filter(Boolean);
    if (from > 0) lines.shift(); // cut in the middle
    return lines.slice(-n);
  } finally {
    closeSync(fd);
  }
}
