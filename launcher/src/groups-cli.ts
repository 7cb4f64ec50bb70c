// The policy-group commands of the CLI (issue 4): up, down, reload, notify,
// service, boot. cli.ts dispatches here and keeps the only process.exit.
import path from 'node:path';
import type { Client } from '../../supervisor/src/protocol/client.js';
import { ClientError } from '../../supervisor/src/protocol/client.js';
import { resolveHome } from '../../supervisor/src/protocol/home.js';
import type { ServiceResult, UpResult } from '../../supervisor/src/protocol/group-requests.js';
import { bootInstall, bootUninstall } from './boot.js';
import { args, type CliIo } from './cli-io.js';


const list = (names: string[]) => (names.length ? names.join(', ') : 'none');


/** Runs one of its commands (command-table.ts); resolves with the exit code. */
export async function runGroupCommand(cmd: string, rest: string[], io: CliIo): Promise<number> {
  switch (cmd) {
    case 'up': {
      const { values, positionals } = args(io, cmd, rest, { file: { type: 'string', short: 'f', multiple: true }, autostart: { type: 'boolean' } });
      const paths = (values.file as string[] | undefined)?.map((f) => path.resolve(f));
      const res = await io.withClient((c) => c.request<UpResult>('up', { paths, groups: positionals, autostart: values.autostart === true }));
      io.print(`durun: up: started ${list(res.started)}${res.alreadyUp.length ? `; already running: ${list(res.alreadyUp)}` : ''}; policy files: ${list(res.files)}`);
      return 0;
    }
    case 'down': {
      const { positionals } = args(io, cmd, rest, {});
      const res = await io.withClient((c) => c.request<{ stopped: string[] }>('down', { groups: positionals }), false);
      io.print(`durun: down: stopped ${list(res.stopped)}`);
      return 0;
    }
    case 'reload': {
      args(io, cmd, rest, {});
      const r = await io.withClient((c) => c.request<Record<'added' | 'removed' | 'restarted' | 'updated', string[]>>('reload'), false);
      io.print(`durun: reloaded: added ${list(r.added)}; removed ${list(r.removed)}; restarted ${list(r.restarted)}; updated ${list(r.updated)}`);
      return 0;
    }
    case 'notify': {
      const { values } = args(io, cmd, rest, { ready: { type: 'boolean' } });
      if (!values.ready) throw io.usage('durun notify: say what to notify: durun notify --ready');
      const group = process.env.DURUN_GROUP;
      if (!group) throw new ClientError('durun notify: not running under durun (DURUN_GROUP is not set); call it from the program or a script it runs');
      await io.withClient((c) => c.request('notify', { group, ready: true, pid: process.ppid }), false);
      return 0;
    }
    case 'service': {
      const { positionals } = args(io, cmd, rest, {});
      if (positionals.length !== 2) throw io.usage('durun service: usage: durun service SCRIPT start|stop|restart|status');
      const [script, action] = positionals as [string, string];
      const request = (c: Client) => c.request<ServiceResult>('service', { script: path.resolve(script), action });
      // status must not start a supervisor: none running means the service is not running (LSB 3).
      const res = await io.withClient(request, action !== 'status').catch((err: Error) => {
        if (action === 'status' && err instanceof ClientError && /no supervisor/.test(err.message)) return { code: 3, message: 'not running (no durun supervisor)' };
        throw err;
      });
      io.print(`durun: ${res.message}`);
      return res.code;
    }
    case 'boot': {
      const [sub, ...more] = rest;
      const { values } = args(io, cmd, more, { file: { type: 'string', short: 'f', multiple: true } });
      if (sub === 'install') {
        const p = await bootInstall((values.file as string[] | undefined) ?? [], resolveHome());
        io.print(`durun: boot: wrote ${p.file} (${p.system})`);
        return 0;
      }
      if (sub === 'uninstall') {
        const removed = await bootUninstall();
        io.print(removed.length ? `durun: boot: removed ${removed.join(', ')}` : 'durun: boot: nothing was installed');
        return 0;
      }
      throw io.usage('durun boot: usage: durun boot install -f FILE|DIR ... | durun boot uninstall');
    }
    default:
      throw io.usage(`durun: unknown command "${cmd}"`);
  }
}
