// `durun ckpt`: the checkpoint API from a shell, for a script run by durun
// (its group is found from its own process, as for any program):
// put KEY [--ts N] < data, get KEY > data, rm KEY, ls [--json],
// role [--wait]. cli.ts dispatches here.
import { readFileSync } from 'node:fs';
import { ClientError } from '../../supervisor/src/protocol/client.js';
import { DurunState } from '../../supervisor/src/protocol/state-client.js';
import { args, type CliIo } from './cli-io.js';

const USAGE = 'usage: durun ckpt put KEY [--ts N] < DATA | get KEY | rm KEY | ls [--json] | role [--wait]';

/** Runs `durun ckpt SUB ...`; returns the exit code (get of a missing key: 1). */
export async function runStateCommand(rest: string[], io: CliIo): Promise<number> {
  const parsed = args(io, 'ckpt', rest, { ts: { type: 'string' }, json: { type: 'boolean' }, wait: { type: 'boolean' } });
  const [sub, key, ...extra] = parsed.positionals;
  const needsKey = sub === 'put' || sub === 'get' || sub === 'rm';
  if (!sub || extra.length || (needsKey ? !key : key !== undefined)) throw io.usage(`durun ckpt: ${USAGE}`);
  const ts = parsed.values.ts === undefined ? undefined : Number(parsed.values.ts);
  if (ts !== undefined && (!Number.isSafeInteger(ts) || ts < 0)) throw io.usage(`durun ckpt put: --ts "${parsed.values.ts}" is not a whole number >= 0`);
  const state = await DurunState.open();
  try {
    switch (sub) {
      case 'put': {
        const stored = await state.save(key!, readFileSync(0), ts);
        if (!stored) process.stderr.write(`durun ckpt put: ${key} already holds a later or equal timestamp; ignored\n`);
        return 0;
      }
      case 'get': {
        const r = await state.load(key!);
        if (!r) {
          process.stderr.write(`durun ckpt get: no value under ${key}\n`);
          return 1;
        }
        process.stdout.write(r.data);
        return 0;
      }
      case 'rm':
        await state.remove(key!);
        return 0;
      case 'ls': {
        const keys = await state.list();
        io.print(parsed.values.json ? JSON.stringify({ keys }) : keys.map((k) => `${k.key}\tts ${k.ts}\t${k.bytes} bytes`).join('\n'));
        return 0;
      }
      case 'role':
        io.print(parsed.values.wait ? await state.waitRole(await state.role()) : await state.role());
        return 0;
      default:
        throw io.usage(`durun ckpt: unknown "${sub}"; ${USAGE}`);
    }
  } catch (err) {
    if (err instanceof ClientError) throw new ClientError(`durun ckpt ${sub}: ${err.message}`);
    throw err;
  } finally {
    state.close();
  }
}
