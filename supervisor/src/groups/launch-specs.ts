// What each ad-hoc program was launched with beyond its command line (the
// runner's --env, --env-file, --cwd, --user and --limit, sent as `runArgs` in
// its hello), kept in $DURUN_HOME/launch.json so that `durun start`, `durun
// save` and `durun resurrect` bring a program back as it was started.
import path from 'node:path';
import { readJson, writeJsonAtomic } from '../persist.js';
import { diag } from '../diag.js';

type Specs = Record<string, Record<string, string[]>>;

export class LaunchSpecs {
  private readonly file: string;
  private specs: Specs;

  constructor(home: string) {
    this.file = path.join(home, 'launch.json');
    this.specs = readJson<Specs>(this.file) ?? {};
  }

  /** Records a runner's launch flags (none: forgets any old entry of that program id). */
  remember(group: string, program: number, runArgs: string[]): void {
    const before = JSON.stringify(this.specs[group]?.[program] ?? []);
    if (before === JSON.stringify(runArgs)) return;
    if (runArgs.length) (this.specs[group] ??= {})[program] = runArgs;
    else if (this.specs[group]) delete this.specs[group][program];
    this.save();
  }

  runArgs(group: string, program: number): string[] {
    return this.specs[group]?.[program] ?? [];
  }

  /** Drops entries of programs the model no longer has (after rm, retention, a restart's new ids). */
  prune(exists: (group: string, program: number) => boolean): void {
    let changed = false;
    for (const [g, progs] of Object.entries(this.specs)) {
      for (const id of Object.keys(progs)) if (!exists(g, Number(id))) { delete progs[id]; changed = true; }
      if (Object.keys(progs).length === 0) { delete this.specs[g]; changed = true; }
    }
    if (changed) this.save();
  }

  private save(): void {
    try {
      writeJsonAtomic(this.file, this.specs);
    } catch (err) {
      diag(`cannot save ${this.file}: ${(err as Error).message}`);
    }
  }
}

/** The argv the runner ran, without the setpriv prefix its --user added (a relaunch with --user adds it again). */
export function commandOf(argv: string[], runArgs: string[]): string[] {
  const asUser = runArgs.includes('--user');
  const i = argv.indexOf('--');
  if (asUser && argv[0] === 'setpriv' && i > 0 && argv.slice(1, i).every((a) => /^--(reuid|regid)=\d+$|^--init-groups$/.test(a))) return argv.slice(i + 1);
  return argv;
}
