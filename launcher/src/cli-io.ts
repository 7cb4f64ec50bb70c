// What every command module of the CLI gets from cli.ts (the only module that
// exits), and the one way they parse their options.
import { parseArgs } from 'node:util';
import type { Client } from '../../supervisor/src/protocol/client.js';

export interface CliIo {
  withClient<T>(fn: (c: Client) => Promise<T>, startIfDown?: boolean): Promise<T>;
  print(s: string): void;
  usage(message: string): Error;
}

export type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

/** Strict parse of a command's arguments; a bad option is a usage error naming the command. */
export function args(io: CliIo, cmd: string, rest: string[], options: Options) {
  try {
    return parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw io.usage(`durun ${cmd}: ${(err as Error).message.replace(/\. To specify.*$/, '')} (see durun --help)`);
  }
}
