// The black-box recorder: what a fault event carries about the moments before
// it, the last lines of the group's output and its last events, so a post-mortem
// needs nothing that may have rotated away.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { DurunEvent } from '../protocol/events.js';

/** Bytes read from the end of each log file: enough for the last lines. */
const TAIL_BYTES = 16_384;

export interface BlackBox { output: string[]; events: Array<Pick<DurunEvent, 'seq' | 'time' | 'type' | 'pid' | 'reason'>> }

/** The last `lines` lines of a file ([] when it does not exist or is empty). */
export function tailLines(file: string, lines: number): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return []; // a foreground program has no log file: its output went to the terminal
  }
  try {
    const size = statSync(file).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const all = buf.toString('utf8').split('\n').filter(Boolean);
    if (len < size) all.shift(); // the first line is probably cut
    return all.slice(-lines);
  } finally {
    closeSync(fd);
  }
}

/** The record attached to a fault: merged output of the group's log files (lines start with a time) and recent events. */
export function blackBox(logFiles: string[], recent: DurunEvent[], lines = 20): BlackBox {
  const output = logFiles.flatMap((f) => tailLines(f, lines)).sort().slice(-lines);
  return { output, events: recent.slice(-lines).map((e) => ({ seq: e.seq, time: e.time, type: e.type, pid: e.pid, reason: e.reason })) };
}
