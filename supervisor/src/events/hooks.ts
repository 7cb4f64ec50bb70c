// on_event hooks: each configured command runs with the event's JSON on stdin
// (and DURUN_EVENT_TYPE / DURUN_EVENT_GROUP in its environment), one at a
// time per hook so alerts arrive in order, killed with its tree at its timeout.
import type { DurunEvent } from '../protocol/events.js';
import type { HookConfig } from '../health/config.js';
import type { EventSink } from './sink.js';
import { runCommand } from '../health/run-command.js';
import { diag } from '../diag.js';

export class HookRunner {
  private readonly queues = new Map<string, Promise<void>>();

  /** hooksFor(event) says which hooks apply (the group's and the supervisor's). */
  constructor(private readonly hooksFor: (e: DurunEvent) => HookConfig[], private readonly sink: EventSink, private readonly home: string) {}

  /** Queues every hook that applies to e; a failing hook reports hook-failed (which runs no hooks). */
  run(e: DurunEvent): void {
    if (e.type === 'hook-failed') return;
    for (const hook of this.hooksFor(e)) {
      const prev = this.queues.get(hook.command) ?? Promise.resolve();
      const next = prev.then(() => this.runOne(hook, e));
      this.queues.set(hook.command, next);
    }
  }

  private async runOne(hook: HookConfig, e: DurunEvent): Promise<void> {
    const env = { ...process.env, DURUN_HOME: this.home, DURUN_EVENT_TYPE: e.type, DURUN_EVENT_GROUP: e.group ?? '' };
    try {
      const r = await runCommand(hook.command, { timeoutMs: hook.timeoutMs, user: hook.user ?? null, env, input: JSON.stringify(e) + '\n' });
      if (r.status === 0) return;
      const why = r.timedOut ? `timed out after ${hook.timeoutMs} ms and was killed` : `exited with status ${r.status}`;
      this.sink.emit({ type: 'hook-failed', group: e.group, pid: null, reason: `on_event hook "${hook.command}" ${why} on event #${e.seq}`, data: { output: r.output.slice(-500) } });
    } catch (err) {
      diag(`on_event hook "${hook.command}": ${(err as Error).message}`);
    }
  }
}
