// The supervisor's own diagnostics, appended to $DURUN_HOME/supervisor.log
// (stdout/stderr are /dev/null once it is detached).
import { appendFileSync } from 'node:fs';

let logFile: string | null = null;

export function setDiagFile(file: string): void {
  logFile = file;
}

export function diag(message: string): void {
  const line = `${new Date().toISOString()} [${process.pid}] ${message}\n`;
  if (logFile) {
    try {
      appendFileSync(logFile, line, { mode: 0o600 });
      return;
    } catch (err) {
      process.stderr.write(`durun supervisor: cannot write ${logFile}: ${(err as Error).message}\n`);
    }
  }
  process.stderr.write(line);
}
