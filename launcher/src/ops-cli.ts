// Everyday-operation commands of the CLI (issue 13): rm, start, signal, save,
// resurrect. cli.ts dispatches here and keeps the only process.exit.
import os from 'node:os';
import type { RemoveResult, ResurrectResult, SaveResult, SignalResult, StartResult } from '../../supervisor/src/protocol/ops-requests.js';
import { args, type CliIo } from './cli-io.js';
import { jsonDoc } from './json-out.js';

const list = (names: string[]) => (names.length ? names.join(', ') : 'none');

/** HUP, SIGHUP, hup or 1 → 1; null for anything else. */
export function signalNumber(text: string): number | null {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= 1 && n <= 64 ? n : null;
  }
  const name = text.toUpperCase().replace(/^SIG/, '');
  return (os.constants.signals as Record<string, number>)[`SIG${name}`] ?? null;
}

export async function runOpsCommand(cmd: string, rest: string[], io: CliIo): Promise<number> {
  switch (cmd) {
    case 'rm': {
      const { values, positionals } = args(io, cmd, rest, { force: { type: 'boolean', short: 'f' }, json: { type: 'boolean' } });
      if (positionals.length === 0) throw io.usage('durun rm: which group? usage: durun rm [--force] GROUP... (durun ps lists them)');
      for (const group of positionals) {
        const r = await io.withClient((c) => c.request<RemoveResult>('rm', { group, force: values.force === true }), false);
        io.print(values.json ? jsonDoc(r) : `durun: removed group ${r.group} (${r.programs} program(s)${r.stopped ? ', stopped first' : ''}, ${r.logFiles} log file(s) deleted)`);
      }
      return 0;
    }
    case 'start': {
      const { positionals } = args(io, cmd, rest, {});
      if (positionals.length === 0) throw io.usage('durun start: which group? usage: durun start GROUP... (durun ps lists them)');
      for (const group of positionals) {
        const r = await io.withClient((c) => c.request<StartResult>('start', { group }));
        io.print(r.policy ? `durun: started group ${r.group} (from its policy)` : `durun: started group ${r.group} (${r.started} program(s), detached; logs: durun logs ${r.group})`);
      }
      return 0;
    }
    case 'signal': {
      const { values, positionals } = args(io, cmd, rest, { all: { type: 'boolean' } });
      if (positionals.length !== 2) throw io.usage('durun signal: usage: durun signal [--all] GROUP SIGNAL (e.g. HUP, SIGUSR1, 10)');
      const [group, name] = positionals as [string, string];
      const signal = signalNumber(name);
      if (signal === null) throw io.usage(`durun signal: "${name}" is not a signal; write e.g. HUP, SIGUSR1 or 10`);
      const r = await io.withClient((c) => c.request<SignalResult>('signal', { group, signal, all: values.all === true }), false);
      io.print(`durun: sent signal ${r.signal} to ${r.all ? 'every process' : 'the main process'} of ${r.programs} program(s) of ${r.group}`);
      return 0;
    }
    case 'save': {
      args(io, cmd, rest, {});
      const r = await io.withClient((c) => c.request<SaveResult>('save'), false);
      io.print(`durun: saved ${r.programs} program(s) of ${list(r.groups)} to ${r.file}; durun resurrect starts them again (the boot service does at boot)`);
      return 0;
    }
    case 'resurrect': {
      args(io, cmd, rest, {});
      const r = await io.withClient((c) => c.request<ResurrectResult>('resurrect'));
      if (!r.saved) {
        io.print(`durun: nothing to resurrect: no ${r.file} (durun save writes it)`);
        return 0;
      }
      io.print(`durun: resurrected ${list(r.started)}${r.alreadyRunning.length ? `; already running: ${list(r.alreadyRunning)}` : ''}`);
      return 0;
    }
    default:
      throw io.usage(`durun: unknown command "${cmd}"`);
  }
}
