// Watches the policy files (chokidar) and reports a settled change once:
// editors write in several steps (truncate, write, rename), so changes are
// gathered for a moment before the policy is read again. chokidar is loaded
// only when there is something to watch: a supervisor without policy files
// (the usual `durun -- CMD` use) never pays for it.
import type { FSWatcher } from 'chokidar';
import { diag } from '../diag.js';

const SETTLE_MS = 150;

export class PolicyWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private watching = '';
  /** Bumped by every watch/close, so a watcher whose import finished late is dropped. */
  private generation = 0;

  constructor(private readonly changed: () => void) {}

  /** Watches these files and directories (only *.ini inside directories), replacing what was watched. */
  watch(sources: readonly string[]): void {
    const key = JSON.stringify(sources);
    if (key === this.watching) return;
    void this.close();
    this.watching = key;
    const generation = this.generation;
    void import('chokidar').then(
      ({ watch }) => {
        if (generation === this.generation) this.start(watch, sources);
      },
      (err: Error) => diag(`watching policy files: ${err.message}`),
    );
  }

  private start(watch: typeof import('chokidar').watch, sources: readonly string[]): void {
    const w = watch([...sources], { ignoreInitial: true, ignored: (p, stats) => !!stats?.isFile() && !p.endsWith('.ini') && !sources.includes(p) });
    w.on('all', () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.changed();
      }, SETTLE_MS);
    });
    w.on('error', (err) => diag(`watching policy files: ${(err as Error).message}`));
    this.watcher = w;
  }

  async close(): Promise<void> {
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.watching = '';
    const w = this.watcher;
    this.watcher = null;
    if (w) await w.close();
  }
}
