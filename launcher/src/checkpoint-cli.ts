// The checkpoint commands of the CLI (issue 3): checkpoint, checkpoints,
// restore, migrate (through the supervisor), inspect and check (the engine's own
// durun-ckpt tool, no supervisor needed). cli.ts dispatches here.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientError } from '../../supervisor/src/protocol/client.js';
import type { CheckpointView, CheckpointsAnswer, MigrateAnswer, RestoreAnswer } from '../../supervisor/src/protocol/checkpoint-requests.js';
import { mib } from '../../view/src/units.js';
import { args, type CliIo } from './cli-io.js';
import { jsonDoc } from './json-out.js';

const CKPT_TOOL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'build', 'durun-ckpt');


function one(io: CliIo, cmd: string, positionals: string[], what = 'GROUP'): string {
  if (positionals.length !== 1) throw io.usage(`durun ${cmd}: which ${what.toLowerCase()}? usage: durun ${cmd} ${what}`);
  return positionals[0]!;
}

function line(c: CheckpointView): string {
  const kinds = c.kinds.every((k) => k === 'full') ? 'full' : c.kinds.every((k) => k === 'incremental') ? 'incremental' : 'mixed';
  return `${c.id}  ${c.createdAt}  ${c.processes} process(es)  ${mib(c.bytes)} written  stall ${c.stallMs} ms  total ${c.durationMs} ms  ${kinds}${c.parent ? ` (on ${c.parent})` : ''}`;
}

/** Runs durun-ckpt (through execa) and hands back what it printed and its exit code. */
async function runTool(toolArgs: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  if (!existsSync(CKPT_TOOL)) throw new ClientError(`${CKPT_TOOL} is missing (build it with make)`);
  const { execa } = await import('execa');
  const r = await execa(CKPT_TOOL, toolArgs, { reject: false, maxBuffer: 256 * 1024 * 1024, stripFinalNewline: false });
  if (r.failed && r.exitCode === undefined) throw new ClientError(`cannot run ${CKPT_TOOL}: ${r.shortMessage}`);
  return { stdout: r.stdout, stderr: r.stderr, code: r.exitCode ?? 1 };
}

/** Runs durun-ckpt with args; its output goes through, its exit code comes back. */
async function tool(io: CliIo, toolArgs: string[]): Promise<number> {
  const res = await runTool(toolArgs);
  if (res.stdout) io.print(res.stdout);
  if (res.stderr) process.stderr.write(res.stderr);
  return res.code;
}

/** Runs durun-ckpt with --json; prints its document with the CLI's version field, its exit code comes back. */
async function toolJson(io: CliIo, toolArgs: string[]): Promise<number> {
  const res = await runTool([...toolArgs, '--json']);
  if (res.stderr) process.stderr.write(res.stderr);
  let doc: object;
  try {
    doc = JSON.parse(res.stdout) as object;
  } catch {
    throw new ClientError(`${CKPT_TOOL} ${toolArgs.join(' ')} --json printed no JSON (exit ${res.code})`);
  }
  io.print(jsonDoc(doc));
  return res.code;
}

/** `durun inspect DIR`: every image of a checkpoint directory (from its manifest, else *.img). */
async function inspectDir(io: CliIo, dir: string, json: boolean): Promise<number> {
  const file = path.join(dir, 'manifest.json');
  const manifest = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { processes: Array<{ image: string; innerPid: number; exe: string }> }) : null;
  if (!manifest) throw new ClientError(`${dir} has no manifest.json: not a committed checkpoint (images of an unfinished one are never restored)`);
  let worst = 0;
  if (json) {
    const images: unknown[] = [];
    for (const p of manifest.processes) {
      const res = await runTool(['inspect', p.image, '--json']);
      if (res.code !== 0) worst = 1;
      try {
        images.push(JSON.parse(res.stdout) as unknown);
      } catch {
        images.push({ path: p.image, ok: false, error: res.stderr.trim() || 'no output' });
      }
    }
    io.print(jsonDoc({ manifest, images }));
    return worst;
  }
  for (const p of manifest.processes) {
    io.print(`== process ${p.innerPid} (${p.exe}): ${p.image}`);
    worst = Math.max(worst, await tool(io, ['inspect', p.image]));
  }
  return worst;
}

/** Runs one of its commands (command-table.ts); resolves with the exit code. */
export async function runCheckpointCommand(cmd: string, rest: string[], io: CliIo): Promise<number> {
  switch (cmd) {
    case 'checkpoint': {
      const { values, positionals } = args(io, cmd, rest, { json: { type: 'boolean' }, full: { type: 'boolean' } });
      const group = one(io, cmd, positionals);
      const c = await io.withClient((cl) => cl.request<CheckpointView>('checkpoint', { group, full: values.full === true }));
      io.print(values.json ? jsonDoc(c) : `durun: checkpoint ${c.id} of ${group}: ${c.bytes} bytes written (${mib(c.bytes)}), programs stopped ${c.stallMs} ms (image writing ${c.dumpStallMs} ms of it), ${c.durationMs} ms in all; ${c.dir}`);
      return 0;
    }
    case 'checkpoints': {
      const { values, positionals } = args(io, cmd, rest, { json: { type: 'boolean' } });
      const group = one(io, cmd, positionals);
      const a = await io.withClient((cl) => cl.request<CheckpointsAnswer>('checkpoints', { group }));
      if (values.json) io.print(jsonDoc(a));
      else if (a.checkpoints.length === 0) io.print(`durun: group ${group} has no checkpoint (take one with: durun checkpoint ${group})`);
      else for (const c of a.checkpoints) io.print(line(c));
      return 0;
    }
    case 'restore': {
      const { values, positionals } = args(io, cmd, rest, { from: { type: 'string' }, json: { type: 'boolean' } });
      const group = one(io, cmd, positionals);
      const r = await io.withClient((cl) => cl.request<RestoreAnswer>('restore', { group, from: values.from }));
      io.print(values.json ? JSON.stringify(r) : `durun: restored ${group} from checkpoint ${r.id}: ${r.processes.map((p) => `pid ${p.innerPid} (outside ${p.pid})`).join(', ')}`);
      return 0;
    }
    case 'migrate': {
      const { values, positionals } = args(io, cmd, rest, { json: { type: 'boolean' }, to: { type: 'string' } });
      const group = one(io, cmd, positionals);
      const r = await io.withClient((cl) => cl.request<MigrateAnswer>('migrate', { group, ...(values.to ? { to: values.to } : {}) }));
      io.print(values.json ? jsonDoc(r) : `durun: moved ${group}${r.node ? ` to node ${r.node}` : ''} with checkpoint ${r.checkpoint}: ${r.connections} live TCP connection(s) carried, ${r.processes.length} process(es) (${r.processes.map((p) => `pid ${p.innerPid}, outside ${p.pid}`).join('; ')}), ${r.frozenMs} ms from barrier to running again`);
      return 0;
    }
    case 'inspect': {
      const { values, positionals } = args(io, cmd, rest, { json: { type: 'boolean' } });
      const target = one(io, cmd, positionals, 'IMAGE|CHECKPOINT-DIR');
      let st;
      try {
        st = statSync(target);
      } catch (err) {
        throw new ClientError(`${target}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
      }
      if (st.isDirectory()) return inspectDir(io, target, values.json === true);
      return values.json ? toolJson(io, ['inspect', target]) : tool(io, ['inspect', target]);
    }
    case 'check': {
      const { values, positionals } = args(io, cmd, rest, { json: { type: 'boolean' } });
      if (positionals.length) throw io.usage('durun check: takes no arguments; usage: durun check [--json]');
      return values.json ? toolJson(io, ['check']) : tool(io, ['check']);
    }
    default:
      throw io.usage(`durun: unknown command "${cmd}"`);
  }
}
