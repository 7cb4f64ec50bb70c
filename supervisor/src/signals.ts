// Which deaths count as crashes (ARCHITECTURE.md, "Restart decision").
import os from 'node:os';

const CRASH_SIGNALS = new Set(['SIGKILL', 'SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT', 'SIGSYS', 'SIGTRAP', 'SIGXCPU', 'SIGXFSZ']
  .map((name) => os.constants.signals[name as keyof typeof os.constants.signals]));

/** A signal that means the process crashed or was killed hard, whoever it was. */
export function isCrashSignal(signal: number): boolean {
  return CRASH_SIGNALS.has(signal);
}

/** Name for a signal number, e.g. 9 -> "SIGKILL". */
export function signalName(signal: number): string {
  for (const [name, num] of Object.entries(os.constants.signals)) if (num === signal) return name;
  return `signal ${signal}`;
}

/** The call-home signal the interceptor listens on (SIGRTMAX-3 unless DURUN_SIGNAL says otherwise). */
export function callHomeSignal(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.DURUN_SIGNAL);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return 64 - 3; // SIGRTMAX is 64 on Linux x86_64 and aarch64
}

/** Decodes a wait(2) status as the shell would report it: 128+N for signal N. */
export function shellCode(status: number | undefined | null, signal: number | undefined | null): number {
  if (signal) return 128 + signal;
  return status ?? 0;
}
