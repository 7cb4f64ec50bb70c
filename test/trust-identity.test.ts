// Issue 8: a pid is believed only when proven. Forged runner hellos, a stale
// runnerPid in state.json, a SIGKILLed runner and kill -9 of the supervisor
// under load. Runs as pid 1 of a pid namespace of its own: a bug that
// signals "pid 1" or a bystander can only reach this test.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { insidePidNamespace } from './helpers/pidns.js';
import { tempHome } from './helpers/home.js';
import { durunSync, group, ps, shutdownAll, waitGroup } from './helpers/durun.js';
import { waitEvent } from './helpers/events.js';
import { isAlive, waitFor } from './helpers/wait.js';
import type { GroupView } from '../supervisor/src/protocol/views.js';

const inside = insidePidNamespace(import.meta.url);
const home = tempHome();
const bystanders: ChildProcess[] = [];

test.after(() => {
  for (const b of bystanders) b.kill('SIGKILL');
  shutdownAll(home.env);
  home.cleanup();
});

const running = (g: GroupView, needle: string) => g.processes.find((p) => p.state === 'running' && p.argv.join(' ').includes(needle));
const supervisorPid = () => Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));

/** A process tree nobody asked durun to supervise: a shell with a child. */
async function bystander(tag: string): Promise<{ shell: number; child: number }> {
  const b = spawn('sh', ['-c', `sleep ${tag} & wait`], { stdio: 'ignore' });
  bystanders.push(b);
  const child = await waitFor(`bystander ${tag}`, () => {
    const kids = readFileSync(`/proc/${b.pid}/task/${b.pid}/children`, 'utf8').trim();
    return kids ? Number(kids.split(' ')[0]) : 0;
  });
  return { shell: b.pid!, child };
}

/** Sends one line on a fresh connection to the supervisor and returns its first answer line. */
function say(line: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(path.join(home.dir, 'supervisor.sock'));
    let got = '';
    s.on('data', (d) => {
      got += d;
      if (got.includes('\n')) {
        s.destroy();
        resolve(got.split('\n')[0]!);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.write(JSON.stringify(line) + '\n');
  });
}

const hello = (pid: number, grp: string, extra: Record<string, unknown> = {}) =>
  ({ v: 1, op: 'hello', role: 'runner', pid, group: grp, argv: ['sleep', '1'], cwd: '/', restart: 'never', detached: true, tty: false, ...extra });

test('a forged runner hello, naming pid 1 or another program\'s runner, is refused and signals nothing', async () => {
  if (inside !== true) return console.log(`  skipped: ${inside}`);
  const keep = durunSync(home.env, ['--detach', '--group', 'keep', '--', 'sleep', '4042']);
  assert.is(keep.code, 0, keep.stderr);
  const k = await waitGroup(home.env, 'keep', 'running', (g) => !!running(g, '4042'));
  const victim = await bystander('4041');
  for (const [pid, extra] of [[1, {}], [victim.shell, {}], [k.programs[0]!.runnerPid, { readopt: true, program: 1, instance: 1, rootPid: 0 }]] as const) {
    const answer = await say(hello(pid, pid === 1 ? 'forged' : 'keep', extra));
    assert.match(answer, /refused: only durun's runner may connect as a runner/, `hello naming pid ${pid}`);
  }
  assert.ok(group(home.env, 'forged') === undefined, 'a refused hello made no group');
  assert.is(durunSync(home.env, ['stop', 'forged']).code, 1);
  assert.is(durunSync(home.env, ['restart', 'keep']).code, 0);
  assert.ok(isAlive(victim.shell) && isAlive(victim.child), 'the bystander tree lives');
  const after = await waitGroup(home.env, 'keep', 'restarted by its own runner', (g) => !!running(g, '4042'));
  assert.is(after.programs.filter((p) => p.state === 'running').length, 1, 'one program, not a forged second one');
});

test('a stale runnerPid in state.json that names an unrelated process is never signalled', async () => {
  if (inside !== true) return console.log(`  skipped: ${inside}`);
  assert.is(durunSync(home.env, ['--detach', '--group', 'stale', '--', 'sleep', '4043']).code, 0);
  const g = await waitGroup(home.env, 'stale', 'running', (x) => !!running(x, '4043'));
  const runnerPid = g.programs[0]!.runnerPid;
  const root = running(g, '4043')!.pid;
  // The supervisor goes (programs live on), then the runner and its program end as after a reboot.
  assert.is(durunSync(home.env, ['shutdown']).code, 0);
  await waitFor('supervisor gone', () => !isAlive(supervisorPid()));
  process.kill(runnerPid, 'SIGKILL');
  process.kill(root, 'SIGKILL');
  await waitFor('old runner and program gone', () => !isAlive(runnerPid) && !isAlive(root));
  // An unrelated tree now holds the pid the state names (as after pid reuse), once with the old start time, once without any.
  const victim = await bystander('4044');
  const stateFile = path.join(home.dir, 'state.json');
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { groups: Array<{ name: string; programs: Array<Record<string, unknown>> }> };
  const prog = state.groups.find((x) => x.name === 'stale')!.programs[0]!;
  prog.runnerPid = victim.shell;
  delete prog.runnerStartTime; // as written before start times were kept: only the runner binary check can prove it
  writeFileSync(stateFile, JSON.stringify(state));
  const stop = durunSync(home.env, ['stop', 'stale']);
  assert.is(stop.code, 0, stop.stderr);
  durunSync(home.env, ['restart', 'stale']);
  assert.ok(isAlive(victim.shell) && isAlive(victim.child), 'the process at the stale runnerPid and its child live');
});

test('a SIGKILLed runner is noticed: what is left of its program is ended and started again, with an event', async () => {
  if (inside !== true) return console.log(`  skipped: ${inside}`);
  assert.is(durunSync(home.env, ['--detach', '--group', 'orphan', '--', 'sh', '-c', 'sleep 4045 & wait']).code, 0);
  const g = await waitGroup(home.env, 'orphan', 'running', (x) => !!running(x, 'sleep 4045'));
  const old = running(g, 'sleep 4045')!.pid;
  process.kill(g.programs[0]!.runnerPid, 'SIGKILL');
  await waitEvent(home.env, 'orphan', 'runner-lost fault', (e) => e.type === 'fault' && (e.data as { kind?: string }).kind === 'runner-lost');
  const again = await waitGroup(home.env, 'orphan', 'started again under a new runner', (x) => {
    const p = running(x, 'sleep 4045');
    return !!p && p.pid !== old && x.programs.some((q) => q.state === 'running' && q.runnerConnected);
  });
  await waitFor('the orphaned instance was ended', () => !isAlive(old));
  assert.is(again.processes.filter((p) => p.state === 'running' && p.argv.join(' ') === 'sleep 4045').length, 1, 'one instance');
});

test('kill -9 of the supervisor at random moments: nothing lost, duplicated or needlessly restarted', async () => {
  if (inside !== true) return console.log(`  skipped: ${inside}`);
  const tags: string[] = [];
  for (let i = 0; i < 4; i++) {
    tags.push(`46${i}0`, `46${i}1`, `46${i}2`);
    assert.is(durunSync(home.env, ['--detach', '--group', 'steady', '--', 'sleep', `46${i}0`]).code, 0);
    assert.is(durunSync(home.env, ['--detach', '--group', 'daemons', '--', 'sh', '-c', `(setsid sleep 46${i}1 &); exit 0`]).code, 0);
    assert.is(durunSync(home.env, ['--detach', '--group', 'forky', '--', 'sh', '-c', `while :; do sleep 0.2; done # 46${i}2`]).code, 0);
  }
  assert.is(durunSync(home.env, ['--detach', '--group', 'crashy', '--max-restarts', '1000', '--backoff', '50', '--', 'sh', '-c', 'sleep 0.5; kill -SEGV $$']).code, 0);
  const pidsOf = () => {
    const out = new Map<string, number[]>();
    for (const tag of tags) out.set(tag, durunPids(tag));
    return out;
  };
  const before = await waitFor('all 12 long-lived programs up', () => {
    const m = pidsOf();
    return [...m.values()].every((v) => v.length === 1) ? m : undefined;
  }, 15_000, 200);
  for (let k = 0; k < 5; k++) {
    await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 900)));
    const sup = supervisorPid();
    if (isAlive(sup)) process.kill(sup, 'SIGKILL');
    await waitFor('supervisor gone', () => !isAlive(sup));
    durunSync(home.env, ['ps']); // a client brings the next supervisor, as the runners would
  }
  await waitGroup(home.env, 'steady', 'runners re-attached', (g) => g.programs.every((p) => p.runnerConnected), 15_000);
  const after = pidsOf();
  const lost = tags.filter((t) => after.get(t)!.length === 0);
  const dup = tags.filter((t) => after.get(t)!.length > 1);
  const moved = tags.filter((t) => after.get(t)![0] !== before.get(t)![0]);
  assert.equal({ lost, dup, moved }, { lost: [], dup: [], moved: [] });
  for (const name of ['steady', 'daemons', 'forky']) assert.is(group(home.env, name)!.restarts, 0, `${name} was never restarted`);
  for (const g of ps(home.env).groups) {
    const pids = g.processes.map((p) => p.pid);
    assert.is(new Set(pids).size, pids.length, `ps --json lists each process of ${g.name} once`);
  }
});

/**
 * Pids of live processes whose command line is `sleep TAG` or ends with
 * `# TAG` (inside this namespace /proc holds only ours); a shell's fork
 * child, which has its parent's command line until it execs, is not counted.
 */
function durunPids(tag: string): number[] {
  const cmdline = (pid: string) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  const hits = new Map<number, number>();
  for (const ent of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = cmdline(ent);
      if ((cmd === `sleep ${tag}` || cmd.endsWith(`# ${tag}`)) && isAlive(Number(ent))) {
        const stat = readFileSync(`/proc/${ent}/stat`, 'utf8');
        hits.set(Number(ent), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      }
    } catch {
      // gone meanwhile
    }
  }
  return [...hits].filter(([, ppid]) => !hits.has(ppid)).map(([pid]) => pid);
}

test.run();
