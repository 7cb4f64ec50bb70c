// The supervisor's own diagnostics, appended to $DURUN_HOME/supervisor.log
// (stdout/stderr are /dev/null once it is detached). The file stays open:
// opening it for each line cost as much as the work the line reports when
// 1,000 groups stop at once. Bounded like the event journal: past
// DIAG_MAX_BYTES it becomes supervisor.1.log (the one before is dropped).
import { closeSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';

/** Size at which supervisor.log is rotated. */
const DIAG_MAX_BYTES = 8 << 20;

let log: { file: string; fd: number; size: number } | null = null;

export function setDiagFile(file: string): void {
  if (log) closeSync(log.fd);
  const fd = openSync(file, 'a', 0o600);
  log = { file, fd, size: fstatSync(fd).size };
}

export function diag(message: string): void {
  const line = `${new Date().toISOString()} [${process.pid}] ${message}\n`;
  if (log) {
    try {
      if (log.size > DIAG_MAX_BYTES) rotate(log);
      log.size += writeSync(log.fd, line);
      return;
    } catch (err) {
      process.stderr.write(`durun supervisor: cannot write ${log.file}: ${(err as Error).message}\n`);
    }
  }
  process.stderr.write(line);
}

function rotate(l: { file: string; fd: number; size: number }): void {
  closeSync(l.fd);
  try {
    renameSync(l.file, l.file.replace(/\.log$/, '') + '.1.log');
  } finally {
    // Reopened whether or not the rename went through: the next line must have somewhere to go.
    l.fd = openSync(l.file, 'a', 0o600);
    l.size = fstatSync(l.fd).size;
  }
}
