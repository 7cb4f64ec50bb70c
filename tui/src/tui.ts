// `durun tui`: the node at a glance. Wires the supervisor link, the state,
// the keys and the screen together, and guarantees the terminal is given back
// as it was however the TUI ends: q, an error, SIGTERM or SIGHUP.
// Talks to the supervisor only through the protocol client; never exits the
// process (the CLI does, with the code this resolves to).
import { SupervisorLink } from './link.js';
import { Screen } from './screen.js';
import { onKey, move, type Key, type KeyContext } from './keys.js';
import { addEvents, initialState, settleSelection, selectedGroup, visibleGroups, type Pane } from './state.js';
import { colourWanted, painter } from './render/paint.js';
import { logProgram, LOG_TAIL } from './render/detail.js';
import { tailLines } from '../../view/src/log-files.js';

/** Lines of a program's log read for the detail pane: a tall terminal's worth. */
const LOG_READ = 200;
/** A redraw asked for more often than this waits (keys, event bursts); figures come once a second anyway. */
const DRAW_MIN_MS = 50;

/**
 * DURUN_FAULT=tui:key-error makes a key press throw, as a bug in a handler
 * would: tests see the terminal restored and the error reported after it.
 */
const keyFault = (process.env.DURUN_FAULT ?? '').split(',').some((f) => f.trim() === 'tui:key-error');

/** Runs the TUI until the operator quits or a signal ends it; resolves with the exit code. */
export function runTui(home: string): Promise<number> {
  const state = initialState();
  const p = painter(colourWanted(process.env));
  let screen: Screen | null = null;
  let drawTimer: NodeJS.Timeout | null = null;

  return new Promise<number>((resolve, reject) => {
    let finished = false;
    const signals: Array<[NodeJS.Signals, () => void]> = [];
    const finish = (code: number, err?: Error) => {
      if (finished) return;
      finished = true;
      if (drawTimer) clearTimeout(drawTimer);
      link.close();
      screen?.destroy();
      for (const [sig, fn] of signals) process.removeListener(sig, fn);
      process.removeListener('exit', restoreOnExit);
      if (err) reject(err);
      else resolve(code);
    };
    /** Whatever else happens, leave the terminal usable. */
    const restoreOnExit = () => screen?.destroy();
    /** Errors inside handlers end the TUI with the terminal restored, then reach the CLI's error report. */
    const guard = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A) => {
      try {
        fn(...args);
      } catch (err) {
        finish(70, err as Error);
      }
    };

    const readLog = () => {
      const g = selectedGroup(state);
      const prog = g && logProgram(state, g);
      state.logLines = prog?.detached ? tailLines(prog.logPath, state.logOf === null ? LOG_TAIL : LOG_READ) : [];
    };
    const draw = guard(() => {
      drawTimer = null;
      settleSelection(state);
      readLog();
      screen?.draw(state, Date.now());
    });
    const redraw = () => {
      if (!drawTimer && !finished) drawTimer = setTimeout(draw, DRAW_MIN_MS);
    };

    const link: SupervisorLink = new SupervisorLink(home, {
      up: (st) => {
        state.link = { up: true, pid: st.pid, startedAt: st.startedAt, error: null };
        state.status = `connected to supervisor ${st.pid}`;
        state.checkpoints.clear();
        redraw();
      },
      down: (reason) => {
        const wasUp = state.link.up;
        state.link = { up: false, pid: null, startedAt: null, error: reason };
        state.groups = [];
        state.checks = [];
        // The first time, why it failed (no supervisor, or a home of another user's); later, what it means.
        state.status = wasUp ? 'the supervisor went away; its programs keep running. Waiting for it to come back...' : reason;
        redraw();
      },
      figures: (groups, checks, cluster) => {
        state.groups = groups;
        state.checks = checks;
        state.cluster = cluster;
        for (const name of state.checkpoints.keys()) if (!groups.some((g) => g.name === name)) state.checkpoints.delete(name);
        redraw();
      },
      events: (events) => {
        if (!addEvents(state, events)) return;
        for (const e of events) if (e.type === 'checkpoint' && e.group) link.refreshCheckpoints(e.group);
        redraw();
      },
      checkpoints: (group, list) => {
        state.checkpoints.set(group, list);
        redraw();
      },
      trouble: (message) => {
        state.status = message;
        redraw();
      },
    });

    const ctx: KeyContext = {
      state, link, redraw,
      quit: () => finish(0),
      page: (pane: Pane) => screen?.page(pane) ?? 1,
      detailPrograms: () => screen?.lastDetail.map((l) => l.program) ?? [],
    };

    try {
      screen = new Screen(home, p, {
        clickGroup: guard((row: number) => {
          state.focus = 'groups';
          const g = visibleGroups(state)[state.scroll.groups + row];
          if (g) state.selected = g.name;
          redraw();
        }),
        focus: guard((pane: Pane) => {
          state.focus = pane;
          redraw();
        }),
        wheel: guard((pane: Pane, delta: number) => {
          move(ctx, pane, delta);
          redraw();
        }),
      });
    } catch (err) {
      return finish(70, err as Error);
    }
    // Every signal blessed would otherwise answer with its own process.exit, and SIGHUP (the ssh session closed).
    for (const [sig, code] of [['SIGTERM', 143], ['SIGHUP', 129], ['SIGINT', 130], ['SIGQUIT', 131]] as const) {
      const fn = () => finish(code);
      signals.push([sig, fn]);
      process.on(sig, fn);
    }
    process.on('exit', restoreOnExit);
    screen.screen.on('keypress', guard((ch: string | undefined, key: Key | undefined) => {
      if (keyFault) throw new Error('fault injection: tui:key-error');
      onKey(ctx, { ...key, ch });
    }));
    screen.screen.on('resize', redraw);
    draw();
    link.start().then(redraw, (err: Error) => finish(70, err));
  });
}
