// Reading what test programs (test/fixtures/groups/stamp.sh) wrote about
// themselves: "start NAME NS PID" and "stop NAME NS HOW", in the order written.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILD, FIXTURES } from './paths.js';
import { tempHome, type TempHome, removeTree } from './home.js';
import { shutdownAll } from './durun.js';

export interface Stamp { event: 'start' | 'stop'; name: string; ns: bigint; extra: string }

export const STAMP = path.join(FIXTURES, 'groups', 'stamp.sh');
/** PATH for policy programs, so `durun notify --ready` finds the durun under test. */
export const PROGRAM_PATH = `${BUILD}:/usr/local/bin:/usr/bin:/bin`;

export function stamps(log: string): Stamp[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => {
    const [event, name, ns, extra] = line.split(' ');
    return { event: event as Stamp['event'], name: name!, ns: BigInt(ns!), extra: extra ?? '' };
  });
}

/** Names in the order their event happened. */
export function order(log: string, event: Stamp['event']): string[] {
  return stamps(log).filter((s) => s.event === event).sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0)).map((s) => s.name);
}

export function at(log: string, event: Stamp['event'], name: string): bigint | undefined {
  return stamps(log).find((s) => s.event === event && s.name === name)?.ns;
}

/** A group that is ready once it has written its start line, so start order is exact. */
export function readyGroup(name: string, log: string, lines: string[] = []): string {
  return stampGroup(name, log, ['ready = notify', ...lines], 'ready');
}

/** A [group NAME] section running stamp.sh with extra policy lines. */
export function stampGroup(name: string, log: string, lines: string[] = [], mode = ''): string {
  return [`[group ${name}]`, `command = ${STAMP} ${name} ${log} ${mode}`.trimEnd(), `env.PATH = ${PROGRAM_PATH}`, ...lines, ''].join('\n');
}

/** A private DURUN_HOME and a scratch directory for policies and logs; cleanup stops everything and removes both. */
export function workspace(prefix: string): { home: TempHome; dir: string; cleanup(): void } {
  const home = tempHome();
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    home, dir,
    cleanup: () => {
      shutdownAll(home.env);
      home.cleanup();
      removeTree(dir);
    },
  };
}
