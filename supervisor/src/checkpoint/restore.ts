// `durun restore GROUP [--from ID]`: verify a committed checkpoint (every
// program binary's size and mtime first; every image's SHA-256 along its
// incremental chain while the programs come back), stop the running
// instance, and start each program again under
// a new runner whose first instance is `durun-restore IMAGE` (hidden runner
// option --restore), so supervision, logs and restarts go on as before.
// The restored processes call home with hello reason "restore".
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Registry } from '../model/registry.js';
import type { GroupRecord } from '../model/types.js';
import { diag } from '../diag.js';
import { RequestError, type Coordinator } from './coordinator.js';
import { readManifest, type Manifest, type ManifestProcess } from './manifest.js';
import { RESTORE_TOOL, sha256File } from './images.js';
import { startDetachedRunner, withoutDurunVars } from '../detached-runner.js';
import { restoreFiles, verifyFiles } from './files-restore.js';

/** How long restored processes have to call home. */
const REGISTER_MS = 15_000;

export interface RestoreAnswer { group: string; id: string; programs: number; processes: Array<{ pid: number; innerPid: number }> }

export class Restorer {
  /** Per group being restored: inner pid (the process's own view) -> outer pid, as they call home. */
  private readonly arrived = new Map<string, Map<number, number>>();
  /** Per group being restored: re-checks whether everyone has called home. */
  private readonly wake = new Map<string, () => void>();

  constructor(private readonly registry: Registry, private readonly coord: Coordinator, private readonly stopGroup: (g: GroupRecord) => Promise<unknown>) {}

  /** A process registered with hello reason "restore" (inner pid as it sees itself, outer pid from SO_PEERCRED). */
  registered(group: string, inner: number, outer: number): void {
    this.arrived.get(group)?.set(inner, outer);
    this.wake.get(group)?.();
  }

  /** Resolves when every inner pid of the manifest has called home; rejects after REGISTER_MS naming the missing ones. */
  private allCalledHome(group: string, m: Manifest, arrived: Map<number, number>): Promise<void> {
    return new Promise((resolve, reject) => {
      const missing = () => m.processes.filter((p) => !arrived.has(p.innerPid)).map((p) => p.innerPid);
      const timer = setTimeout(() => reject(new RequestError(`restored processes ${missing().join(', ')} of ${group} did not call home within ${REGISTER_MS / 1000} s (see the group's log)`)), REGISTER_MS);
      const check = () => {
        if (missing().length) return;
        clearTimeout(timer);
        resolve();
      };
      this.wake.set(group, check);
      check();
    });
  }

  /** Why the ladder's restore step cannot be taken for a group, or null. */
  unavailable(group: string): string | null {
    try {
      const { manifest } = this.coord.find(group);
      verifyQuick(manifest);
      return null;
    } catch (err) {
      return `no restorable checkpoint: ${(err as Error).message}`;
    }
  }

  /**
   * A move (migrate.ts) passes netUnlock, its network lock table for a
   * program's durun-restore to lift (net-lock.ts), replacing: its old
   * instance is dead already, its runners still reporting the end, and the
   * move drops those programs itself; and running, told once every
   * restored process has called home.
   */
  async restore(name: string, from?: string, move?: { netUnlock: (program: number) => string | null; replacing?: boolean; running?: () => void }): Promise<RestoreAnswer> {
    const { dir, manifest } = this.coord.find(name, from);
    verifyQuick(manifest);
    // The files' copies are checked before anything is stopped or written.
    const files = await verifyFiles(dir, manifest).catch((err: Error) => Promise.reject(new RequestError(err.message)));
    // Every image's SHA-256 is checked while the programs come back (1 GiB
    // takes ~2 s here; durun-restore checks every record's CRC itself): a
    // mismatch stops the group again and fails the request.
    const sums = verify(manifest).then(() => null, (err: Error) => err);
    const byProgram = new Map<number, ManifestProcess[]>();
    for (const p of manifest.processes) byProgram.set(p.program, [...(byProgram.get(p.program) ?? []), p]);
    for (const [id, procs] of byProgram) {
      if (procs.length > 1 && !treeMode()) {
        throw new RequestError(`program ${id} of checkpoint ${manifest.id} is a tree of ${procs.length} processes; restoring a process tree needs durun-restore --tree, which this build does not have`);
      }
    }
    const group = this.registry.group(name);
    if (group && !move?.replacing) {
      if (group.programs.some((p) => p.state === 'running' || p.state === 'restarting')) await this.stopGroup(group);
      // The restored programs replace the stopped ones (new runners, new program ids).
      group.programs = group.programs.filter((p) => p.state === 'running' || p.state === 'restarting');
    }
    // Files go back while none of the group runs, before the restored processes reopen them.
    await restoreFiles(manifest, files).catch((err: Error) => Promise.reject(new RequestError(`restoring ${name} from checkpoint ${manifest.id}: ${err.message}`)));
    const arrived = new Map<number, number>();
    this.arrived.set(name, arrived);
    try {
      for (const prog of manifest.programs) {
        const procs = byProgram.get(prog.id) ?? [];
        const root = procs.find((p) => !procs.some((q) => q.innerPid === p.ppid)) ?? procs[0];
        if (!root) continue;
        await this.launch(name, prog, root, procs, move?.netUnlock(prog.id) ?? null);
      }
      // a bad checksum need not wait for the restored processes to call home
      await Promise.race([this.allCalledHome(name, manifest, arrived), sums.then((bad) => (bad ? Promise.reject(bad) : new Promise<void>(() => {})))]);
      // every process runs again; the images' checksums may take longer (the answer waits for them)
      move?.running?.();
    } catch (err) {
      if (err === (await sums)) await this.stopAgain(name);
      throw err;
    } finally {
      this.arrived.delete(name);
      this.wake.delete(name);
    }
    const bad = await sums;
    if (bad) {
      await this.stopAgain(name);
      throw bad;
    }
    const g = this.registry.group(name);
    if (g) this.registry.settle(g);
    this.registry.events.emit({ type: 'recovery-step', group: name, pid: null, reason: `restored from checkpoint ${manifest.id}`, data: { step: 'restore', checkpoint: manifest.id } });
    return { group: name, id: manifest.id, programs: manifest.programs.length, processes: manifest.processes.map((p) => ({ pid: arrived.get(p.innerPid)!, innerPid: p.innerPid })) };
  }

  private async stopAgain(name: string): Promise<void> {
    const g = this.registry.group(name);
    if (g) await this.stopGroup(g);
  }

  private async launch(group: string, prog: Manifest['programs'][number], root: ManifestProcess, procs: ManifestProcess[], netUnlock: string | null): Promise<void> {
    const restoreArg = procs.length > 1 ? ['--restore-tree', procs.map((p) => p.image).join(':')] : ['--restore', root.image];
    if (netUnlock) restoreArg.push('--net-unlock', netUnlock);
    try {
      await startDetachedRunner({
        // --log-of: the restored program writes on in the log it had, so `durun logs` is one history.
        group, restart: prog.restart, options: prog.options, argv: prog.argv, cwd: prog.cwd, extra: [...restoreArg, '--log-of', String(prog.id)],
        env: { ...withoutDurunVars(prog.env), DURUN_HOME: process.env.DURUN_HOME ?? prog.env.DURUN_HOME },
      });
    } catch (err) {
      diag(`restore of ${group}/${prog.id} failed: ${(err as Error).message}`);
      throw new RequestError(`restoring ${group} program ${prog.id}: ${(err as Error).message}`);
    }
  }
}

/** Program binaries unchanged since the checkpoint (size, mtime); images present. */
function verifyQuick(m: Manifest): void {
  for (const p of m.processes) {
    let st;
    try {
      st = statSync(p.exe);
    } catch {
      throw new RequestError(`${p.exe} (process ${p.innerPid}) is gone since checkpoint ${m.id}; refusing to restore`);
    }
    if (st.size !== p.exeSize || Math.abs(st.mtimeMs - p.exeMtimeMs) > 1) {
      throw new RequestError(`${p.exe} changed since checkpoint ${m.id} (size ${p.exeSize} -> ${st.size}, mtime ${new Date(p.exeMtimeMs).toISOString()} -> ${new Date(st.mtimeMs).toISOString()}); refusing to restore`);
    }
    try {
      statSync(p.image);
    } catch {
      throw new RequestError(`image ${p.image} of checkpoint ${m.id} is missing; refusing to restore`);
    }
  }
}

/** verifyQuick plus every image's SHA-256, along each incremental chain. */
async function verify(m: Manifest): Promise<void> {
  verifyQuick(m);
  const seen = new Set<string>();
  for (const p of m.processes) {
    let cur: ManifestProcess | undefined = p;
    let owner = m;
    while (cur && !seen.has(cur.image)) {
      seen.add(cur.image);
      let sum: string;
      try {
        sum = await sha256File(cur.image);
      } catch (err) {
        throw new RequestError(`image ${cur.image} of checkpoint ${owner.id} cannot be read (${(err as Error).message}); the restored group was stopped`);
      }
      if (sum !== cur.sha256) throw new RequestError(`image ${cur.image} of checkpoint ${owner.id} fails its checksum (sha256 ${sum.slice(0, 16)}…, manifest says ${cur.sha256.slice(0, 16)}…); the restored group was stopped`);
      if (!cur.parentImage) break;
      const parentImage: string = cur.parentImage;
      const pm = readManifest(path.dirname(parentImage));
      if (!pm) throw new RequestError(`image ${cur.image} chains onto ${parentImage}, whose checkpoint is gone or unfinished; refusing to restore`);
      owner = pm;
      cur = pm.processes.find((q) => q.image === parentImage);
      if (!cur) throw new RequestError(`checkpoint ${pm.id} does not list ${parentImage}; refusing to restore`);
    }
  }
}

let treeSupport: boolean | null = null;
/** Whether durun-restore can restore a process tree (--tree, from native/). */
function treeMode(): boolean {
  if (treeSupport === null) {
    const res = spawnSync(RESTORE_TOOL, ['--help'], { encoding: 'utf8' });
    const usage = `${res.stdout ?? ''}${res.stderr ?? ''}`;
    treeSupport = /--tree/.test(usage);
  }
  return treeSupport;
}
