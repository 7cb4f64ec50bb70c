// Everyday-operation commands of the CLI (issue 13): rm. cli.ts dispatches
// here and keeps the only process.exit.
import type { RemoveResult } from '../../supervisor/src/protocol/ops-requests.js';
import { args, type CliIo } from './cli-io.js';
import { jsonDoc } from './json-out.js';

export const OPS_COMMANDS: ReadonlySet<string> = new Set(['rm']);


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
    default:
      throw io.usage(`durun: unknown command "${cmd}"`);
  }
}
