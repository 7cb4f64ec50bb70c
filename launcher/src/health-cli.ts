// The health, events and availability commands of the CLI (issue 5): health,
// events, stats, metrics, advise. cli.ts dispatches here and keeps the only
// process.exit. Exit codes: 0 ok; 1 a check is unhealthy (health) or the
// supervisor refused; 2 usage.
import { ClientError } from '../../supervisor/src/protocol/client.js';
import type { AdviceAnswer, EventsAnswer, HealthAnswer } from '../../supervisor/src/protocol/health-requests.js';
import type { DurunEvent } from '../../supervisor/src/protocol/events.js';
import { badSince, badWindow, followLost, followResumed, formatEvent, formatStats, formatVerdict, noChecks, noSupervisor, notChecked, type GroupStatsView } from './health-format.js';
import { args, type CliIo } from './cli-io.js';
import { jsonDoc } from './json-out.js';
import { resolveHome } from '../../supervisor/src/protocol/home.js';

const printErr = (line: string) => process.stderr.write(`${line}\n`);
import { parseDuration, parseFlagDuration } from '../../supervisor/src/protocol/duration.js';


/** --since: ISO time, a duration ago, or ms since the epoch. */
export function parseSince(text: string, now: number): number | null {
  const ago = parseDuration(text);
  if (ago !== null) return now - ago;
  if (/^\d{10,}$/.test(text)) return Number(text);
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}


function windowOf(io: CliIo, cmd: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseFlagDuration(text);
  if (ms === null || ms <= 0) throw io.usage(`durun ${cmd}: ${badWindow(text)}`);
  return ms;
}

/** How long a follower waits between tries to reach the next supervisor. */
const FOLLOW_RETRY_MS = 250;

/**
 * `durun events --follow`, across supervisor restarts (a kill -9, an
 * upgrade): when the connection is lost it waits for the next supervisor,
 * without starting one itself (an operator's `durun shutdown` must stay
 * done), and resumes after the last event it printed. Sequence numbers go on
 * across restarts, so nothing is printed twice and nothing journalled
 * meanwhile is missed. Runs until interrupted.
 */
async function followEvents(io: CliIo, query: Record<string, unknown>, json: boolean): Promise<number> {
  let lastSeq = 0;
  let since = query.since as number | undefined;
  const show = (e: DurunEvent) => {
    if (e.seq <= lastSeq) return;
    lastSeq = e.seq;
    since = Date.parse(e.time);
    io.print(json ? jsonDoc(e) : formatEvent(e));
  };
  for (let first = true; ; first = false) {
    try {
      await io.withClient(async (c) => {
        c.onPush = (msg) => show(msg.event as DurunEvent);
        const lost = new Promise<void>((resolve) => (c.onClosed = resolve));
        const res = await c.request<EventsAnswer>('events', { ...query, since });
        if (!first) process.stderr.write(`${followResumed}\n`);
        for (const e of res.events) show(e);
        await lost;
        process.stderr.write(`${followLost}\n`);
      }, first);
    } catch (err) {
      if (first) throw err;
    }
    await new Promise((r) => setTimeout(r, FOLLOW_RETRY_MS));
  }
}

export async function runHealthCommand(cmd: string, rest: string[], io: CliIo): Promise<number> {
  switch (cmd) {
    case 'health': {
      const { values, positionals } = args(io, cmd, rest, { json: { type: 'boolean' } });
      if (positionals.length > 1) throw io.usage('durun health: takes at most one GROUP (see durun --help)');
      // From cron, a missing supervisor is a failure to report, never a reason to start one (in root's home, say).
      const res = await io.withClient((c) => c.request<HealthAnswer>('health', { group: positionals[0] }), false).catch((err: Error) => {
        if (err instanceof ClientError && /no supervisor/.test(err.message)) throw new ClientError(noSupervisor(resolveHome(), process.env.DURUN_HOME !== undefined));
        throw err;
      });
      const allHealthy = res.checks.every((v) => v.healthy);
      if (values.json) {
        io.print(jsonDoc({ healthy: allHealthy, checks: res.checks, skipped: res.skipped }));
        return allHealthy ? 0 : 1;
      }
      if (res.checks.length === 0 && res.skipped.length === 0) io.print(noChecks);
      // Verdicts on stdout, failures on stderr: `durun health >/dev/null` in cron mails only the failures.
      for (const v of res.checks) (v.healthy ? io.print : printErr)(formatVerdict(v));
      for (const s of res.skipped) io.print(notChecked(s.group, s.state));
      return allHealthy ? 0 : 1;
    }
    case 'events': {
      const { values, positionals } = args(io, cmd, rest, {
        follow: { type: 'boolean', short: 'f' }, json: { type: 'boolean' }, group: { type: 'string' }, type: { type: 'string' }, since: { type: 'string' },
      });
      if (positionals.length) throw io.usage('durun events: takes no positional arguments; use --group G (see durun --help)');
      const since = values.since === undefined ? undefined : parseSince(values.since as string, Date.now());
      if (since === null) throw io.usage(`durun events: ${badSince(values.since as string)}`);
      const query = { group: values.group, type: values.type, since, follow: values.follow === true };
      if (!values.follow) {
        const res = await io.withClient((c) => c.request<EventsAnswer>('events', query));
        if (values.json) io.print(jsonDoc({ events: res.events }));
        else for (const e of res.events) io.print(formatEvent(e));
        return 0;
      }
      return followEvents(io, query, values.json === true);
    }
    case 'stats': {
      const { values, positionals } = args(io, cmd, rest, { json: { type: 'boolean' }, window: { type: 'string' } });
      if (positionals.length > 1) throw io.usage('durun stats: takes at most one GROUP (see durun --help)');
      const windowMs = windowOf(io, cmd, values.window as string | undefined);
      const r = await io.withClient((c) => c.request<{ from: string; to: string; groups: GroupStatsView[] }>('stats', { group: positionals[0], windowMs }));
      io.print(values.json ? jsonDoc(r) : formatStats(r.groups, r.from, r.to));
      return 0;
    }
    case 'metrics': {
      const { values, positionals } = args(io, cmd, rest, { window: { type: 'string' } });
      if (positionals.length) throw io.usage('durun metrics: takes no arguments but --window (see durun --help)');
      const r = await io.withClient((c) => c.request<{ text: string }>('metrics', { windowMs: windowOf(io, cmd, values.window as string | undefined) }));
      process.stdout.write(r.text);
      return 0;
    }
    case 'advise': {
      const { values, positionals } = args(io, cmd, rest, { json: { type: 'boolean' } });
      if (positionals.length !== 1) throw io.usage('durun advise: which group? usage: durun advise GROUP (durun ps lists them)');
      const r = await io.withClient((c) => c.request<AdviceAnswer>('advise', { group: positionals[0] }));
      if (values.json) {
        io.print(jsonDoc(r));
        return 0;
      }
      for (const n of r.notes) io.print(`# ${n}`);
      for (const l of r.lines) io.print(l);
      if (r.lines.length === 0) io.print(`# no changes to propose for ${r.group} yet`);
      return 0;
    }
    default:
      throw new ClientError(`durun: ${cmd} is not a health command`);
  }
}
