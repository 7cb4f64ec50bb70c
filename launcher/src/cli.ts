#!/usr/bin/env node
// The Node half of the `durun` command: every sub-command except running a
// program (which build/durun handles in C without starting Node).
// The only module allowed to exit the process.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, ClientError, SUPERVISOR_NODE_FLAGS } from '../../supervisor/src/protocol/client.js';
import { HomeError, resolveHome } from '../../supervisor/src/protocol/home.js';
import type { PsView, StatusView } from '../../supervisor/src/protocol/views.js';
import { USAGE, badOption, needsGroup, tuiNeedsTerminal, unknownCommand } from './messages.js';
import { clusterLine, formatPs } from './format-ps.js';
import { args, type CliIo, type Options } from './cli-io.js';
import { runListed } from './command-table.js';
import { jsonDoc } from './json-out.js';

class UsageError extends Error {}

const SUPERVISOR_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'supervisor', 'src', 'main.js');

const parse = (cmd: string, rest: string[], options: Options) => args(io, cmd, rest, options);

function oneGroup(cmd: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(needsGroup(cmd));
  return positionals[0]!;
}

async function withClient<T>(fn: (c: Client) => Promise<T>, startIfDown = true): Promise<T> {
  const client = await Client.connect(resolveHome(), { startIfDown });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

const print = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const io: CliIo = { withClient, print, usage: (m) => new UsageError(m) };

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      print(USAGE);
      return cmd === undefined ? 2 : 0;
    case '--version':
    case 'version':
      print('durun 0.1.0');
      return 0;
    case 'ps': {
      const { values, positionals } = parse('ps', rest, { json: { type: 'boolean' }, history: { type: 'boolean' }, all: { type: 'boolean', short: 'a' }, names: { type: 'boolean' } });
      if (positionals.length > 1) throw new UsageError(badOption('ps', 'takes at most one GROUP'));
      const view = await withClient((c) => c.request<PsView>('ps', { group: positionals[0], history: values.history === true }));
      if (values.names) for (const g of view.groups) print(g.name);
      else print(values.json ? jsonDoc(view) : formatPs(view.groups, values.all === true, process.stdout.isTTY ? process.stdout.columns : undefined) + clusterLine(view));
      return 0;
    }
    case 'stop':
    case 'restart': {
      const { positionals } = parse(cmd, rest, {});
      const group = oneGroup(cmd, positionals);
      await withClient((c) => c.request(cmd, { group }));
      print(`durun: ${cmd === 'stop' ? 'stopped' : 'restarted'} group ${group}`);
      return 0;
    }
    case 'status': {
      const { values } = parse('status', rest, { json: { type: 'boolean' } });
      const st = await withClient((c) => c.request<StatusView>('status'), false).catch((err: Error) => {
        // LSB status: 3 = not running. Scripts reading --json get a document either way.
        if (!(err instanceof ClientError && /no supervisor/.test(err.message))) throw err;
        if (values.json) print(jsonDoc({ running: false, home: resolveHome() }));
        else process.stderr.write(`durun: ${err.message}\n`);
        return null;
      });
      if (st === null) return 3;
      if (values.json) {
        const { version: durunVersion, ...rest } = st; // `version` of a --json document is its schema's
        print(jsonDoc({ running: true, durunVersion, ...rest }));
        return 0;
      }
      print(`supervisor ${st.pid} (durun ${st.version}) since ${st.startedAt}; home ${st.home}; ${st.groups} group(s)`);
      if (st.policy?.sources.length) print(`policy: ${st.policy.sources.join(' ')} (groups: ${st.policy.groups.join(', ') || 'none'})`);
      if (st.policy?.lastError) print(`policy error at ${st.policy.lastError.at} (previous policy still in force):\n${st.policy.lastError.message}`);
      return 0;
    }
    case 'shutdown': {
      const { values } = parse('shutdown', rest, { 'stop-all': { type: 'boolean' } });
      await withClient((c) => c.request('shutdown', { stopAll: values['stop-all'] === true }), false);
      print(values['stop-all'] ? 'durun: supervisor stopping all groups, then exiting' : 'durun: supervisor exiting; programs keep running');
      return 0;
    }
    case 'tui': {
      parse('tui', rest, {});
      if (!process.stdin.isTTY || !process.stdout.isTTY) throw new UsageError(tuiNeedsTerminal);
      const { runTui } = await import('../../tui/src/tui.js');
      return runTui(resolveHome());
    }
    case 'daemon': {
      parse('daemon', rest, {});
      const { execa } = await import('execa');
      const r = await execa(process.execPath, [...SUPERVISOR_NODE_FLAGS, SUPERVISOR_MAIN], { stdio: 'inherit', reject: false });
      return r.signal ? 128 + 15 : r.exitCode ?? 1;
    }
    default: {
      const code = await runListed(cmd, rest, io);
      if (code === null) throw new UsageError(unknownCommand(cmd));
      return code;
    }
  }
}

/**
 * Exits once stdout and stderr have drained: output to a pipe is written
 * asynchronously, and a bare process.exit() would cut a long answer
 * (`durun events --json`, `ps --json`) short.
 */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(
  (code) => exitAfterFlush(code),
  (err: Error) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      return exitAfterFlush(2);
    }
    if (err instanceof ClientError || err instanceof HomeError) {
      process.stderr.write(`durun: ${err.message}\n`);
      return exitAfterFlush(1);
    }
    process.stderr.write(`durun: internal error: ${err.stack ?? err.message}\n`);
    exitAfterFlush(70);
  },
);
