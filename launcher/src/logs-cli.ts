// `durun logs [GROUP] [--since T] [--stream stdout|stderr] [-n N] [--follow] [--json]`:
// the output of detached programs, of one group or of all (each line then
// names its group), filtered by time and stream. Log lines are written by the
// runner as `TIME PID STREAM TEXT` (launcher/c/logs.c).
import { ClientError } from '../../supervisor/src/protocol/client.js';
import type { PsView } from '../../supervisor/src/protocol/views.js';
import { followLogs, readLogLines } from '../../view/src/log-files.js';
import { args, type CliIo } from './cli-io.js';
import { jsonDoc } from './json-out.js';
import { parseSince } from './health-cli.js';
import { badSince } from './health-format.js';
import { noLogs } from './messages.js';

export interface LogLine { time: string; group: string; program: number; pid: number; stream: 'stdout' | 'stderr'; text: string }

const LINE = /^(\S+) (\d+) (stdout|stderr) ?(.*)$/;

/** One line of a log file as data; null for a line not in the runner's format. */
export function parseLogLine(line: string, group: string, program: number): LogLine | null {
  const m = LINE.exec(line);
  return m ? { time: m[1]!, group, program, pid: Number(m[2]), stream: m[3] as LogLine['stream'], text: m[4]! } : null;
}

interface Source { group: string; program: number; logPath: string }

export async function runLogs(rest: string[], io: CliIo): Promise<number> {
  const { values, positionals } = args(io, 'logs', rest, {
    follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' }, since: { type: 'string' }, stream: { type: 'string' }, json: { type: 'boolean' },
  });
  if (positionals.length > 1) throw io.usage('durun logs: takes at most one GROUP (without one: every group)');
  const tail = values.lines === undefined ? null : Number(values.lines);
  if (tail !== null && (!Number.isInteger(tail) || tail < 0)) throw io.usage(`durun logs: -n takes a whole number, not "${values.lines}"`);
  const since = values.since === undefined ? null : parseSince(values.since as string, Date.now());
  if (since === null && values.since !== undefined) throw io.usage(`durun logs: ${badSince(values.since as string)}`);
  const stream = values.stream as string | undefined;
  if (stream !== undefined && stream !== 'stdout' && stream !== 'stderr') throw io.usage(`durun logs: --stream takes stdout or stderr, not "${stream}"`);

  const group = positionals[0];
  const view = await io.withClient((c) => c.request<PsView>('ps', { group }));
  const sources: Source[] = view.groups.flatMap((g) => g.programs.filter((p) => p.detached).map((p) => ({ group: g.name, program: p.id, logPath: p.logPath })));
  if (group && sources.length === 0) throw new ClientError(noLogs(group));
  const all = group === undefined;
  const keep = (l: LogLine) => (stream === undefined || l.stream === stream) && (since === null || Date.parse(l.time) >= since);
  const show = (raw: string, s: Source) => {
    const l = parseLogLine(raw, s.group, s.program);
    if (!l || !keep(l)) return null;
    return values.json ? l : all ? `${s.group} | ${raw}` : raw;
  };

  // Lines of every file, in time order (each starts with its ISO time), filtered, then the last N.
  const lines = sources.flatMap((s) => readLogLines([{ id: s.program, logPath: s.logPath }], null).map((raw) => ({ raw, s })));
  lines.sort((a, b) => (a.raw < b.raw ? -1 : a.raw > b.raw ? 1 : 0));
  const shown = lines.map(({ raw, s }) => show(raw, s)).filter((x): x is NonNullable<typeof x> => x !== null);
  const last = tail === null ? shown : shown.slice(Math.max(0, shown.length - tail));
  if (values.json && !values.follow) io.print(jsonDoc({ lines: last }));
  else for (const x of last) io.print(typeof x === 'string' ? x : jsonDoc(x));
  if (!values.follow) return 0;
  // Following: complete lines as they are appended, each file on its own.
  for (const s of sources) {
    let partial = '';
    followLogs([{ id: s.program, logPath: s.logPath }], (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const raw of parts) {
        const x = raw && show(raw, s);
        if (x) io.print(typeof x === 'string' ? x : jsonDoc(x));
      }
    });
  }
  return new Promise<number>(() => {}); // until interrupted
}
