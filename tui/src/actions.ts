// What the action keys do to the selected group, through the supervisor's
// requests; each says in the status line what it is doing and what came of it.
// Restart, stop and restore ask for `y` first: they end running processes.
import type { GroupView } from '../../supervisor/src/protocol/views.js';
import type { CheckpointView, RestoreAnswer } from '../../supervisor/src/protocol/checkpoint-requests.js';
import { mib } from '../../view/src/units.js';
import type { SupervisorLink } from './link.js';
import type { UiState } from './state.js';

export type ActionKey = 'restart' | 'stop' | 'start' | 'checkpoint' | 'restore' | 'migrate';

export interface ActionContext {
  state: UiState;
  link: SupervisorLink;
  /** Redraws after the status line changed. */
  redraw(): void;
}

const say = (ctx: ActionContext, text: string) => {
  ctx.state.status = text;
  ctx.redraw();
};

/** Sends one request, saying `doing` meanwhile and then what `done` makes of the answer, or the error. */
function run<T>(ctx: ActionContext, doing: string, op: string, fields: Record<string, unknown>, done: (answer: T) => string): void {
  say(ctx, `${doing}...`);
  ctx.link.request<T>(op, fields).then((answer) => say(ctx, done(answer)), (err: Error) => say(ctx, `${doing} failed: ${err.message}`));
}

function confirm(ctx: ActionContext, question: string, onYes: () => void): void {
  ctx.state.mode = { kind: 'confirm', question, onYes };
  ctx.redraw();
}

const active = (g: GroupView) => g.state === 'running' || g.state === 'restarting';

export function act(ctx: ActionContext, key: ActionKey, g: GroupView | undefined): void {
  if (key === 'migrate') return say(ctx, 'migrate: not available (this supervisor has no cluster mode to move a group to another node)');
  if (!g) return say(ctx, `${key}: no group selected`);
  const name = g.name;
  switch (key) {
    case 'restart':
      return confirm(ctx, `restart ${name}? its processes end and start again`, () =>
        run<{ restarted: number }>(ctx, `restarting ${name}`, 'restart', { group: name }, (a) => `restarted ${name} (${a.restarted} program(s))`));
    case 'stop':
      if (!active(g)) return say(ctx, `${name} is not running (${g.state})`);
      return confirm(ctx, `stop ${name}? its processes get SIGTERM, then SIGKILL after 10 s`, () =>
        run<{ stopped: number }>(ctx, `stopping ${name}`, 'stop', { group: name }, (a) => `stopped ${name} (${a.stopped} program(s))`));
    case 'start':
      if (active(g)) return say(ctx, `${name} is already ${g.state}`);
      return run<{ restarted: number }>(ctx, `starting ${name}`, 'restart', { group: name }, (a) => `started ${name} (${a.restarted} program(s))`);
    case 'checkpoint':
      return run<CheckpointView>(ctx, `checkpointing ${name}`, 'checkpoint', { group: name }, (c) => {
        ctx.link.refreshCheckpoints(name);
        return `checkpoint ${c.id} of ${name}: ${mib(c.bytes)}, programs stopped ${c.stallMs} ms`;
      });
    case 'restore': {
      const last = ctx.state.checkpoints.get(name)?.at(-1);
      if (!last) return say(ctx, `${name} has no checkpoint to restore (c takes one)`);
      return confirm(ctx, `restore ${name} from checkpoint ${last.id}? its processes are replaced by the checkpoint's`, () =>
        run<RestoreAnswer>(ctx, `restoring ${name}`, 'restore', { group: name, from: last.id }, (r) => {
          ctx.link.refreshCheckpoints(name);
          return `restored ${name} from ${r.id}: pid(s) ${r.processes.map((q) => q.pid).join(', ')}`;
        }));
    }
  }
}
