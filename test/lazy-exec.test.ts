// Lazy exec'd images (ARCHITECTURE.md, role `proc`, issue 8 item 7): a fork
// child that never spoke announces its exec on the copy of its parent's link
// it kept, and the new image registers only when it must speak. Whatever
// registers lazily must still be listed with its argv, its end and its
// parent, be brought in by a checkpoint, and an announce must never make the
// supervisor believe a pid outside the program's tree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { durunSync, ps, shutdownAll, waitGroup } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';
import { checkpoint, type As } from './helpers/checkpoint.js';
import type { GroupView } from '../supervisor/src/protocol/views.js';

const home = tempHome('durun-lazyexec-');
const as: As = { env: home.env, home: home.dir, wrap: (c) => c };
const outsiders: ChildProcess[] = [];
test.after(() => {
  for (const c of outsiders) c.kill('SIGKILL');
  shutdownAll(home.env);
  home.cleanup();
});

const running = (g: GroupView, argv: string) => g.processes.find((p) => p.state === 'running' && p.argv.join(' ') === argv);
const linkFds = (pid: number): number[] => readdirSync(`/proc/${pid}/fd`).map(Number).filter((fd) => fd >= 900);
const supervisorLog = (): string => readFileSync(path.join(home.dir, 'supervisor.log'), 'utf8');

function detach(group: string, argv: string[]): void {
  const r = durunSync(home.env, ['run', '--detach', '--group', group, '--restart', 'never', '--', ...argv]);
  assert.is(r.code, 0, r.stderr);
}

test('a tight fork/exec loop: every short-lived command is listed with its argv, status and parent', async () => {
  const r = durunSync(home.env, ['--group', 'loop', '--', 'bash', '-c', 'for i in $(seq 80); do /bin/echo n$i; done > /dev/null; sh -c "exit 3"; exit 0']);
  assert.is(r.code, 0, r.stderr);
  const g = await waitGroup(home.env, 'loop', 'every command ended', (g) => g.processes.filter((p) => p.state !== 'running').length >= 82);
  const root = g.processes.find((p) => p.argv[0] === 'bash')!;
  for (let i = 1; i <= 80; i++) {
    const p = g.processes.find((p) => p.argv.join(' ') === `/bin/echo n${i}`);
    assert.ok(p, `n${i} listed with its argv`);
    assert.is(p!.state, 'exited', `n${i} exited`);
    assert.is(p!.exitStatus, 0);
    assert.is(p!.ppid, root.pid, `n${i} is the script's child`);
    assert.is(p!.execCount, 1);
  }
  const sh = g.processes.find((p) => p.argv.join(' ') === 'sh -c exit 3');
  assert.ok(sh && sh.state === 'exited' && sh.exitStatus === 3, 'its status from the parent\'s reaped');
  assert.is(g.restarts, 0);
});

test('a lazy image is listed while it runs, holds no link, and a checkpoint brings it in', async () => {
  detach('lazyck', ['bash', '-c', 'sleep 300 & wait']);
  const g = await waitGroup(home.env, 'lazyck', 'the job runs', (g) => running(g, 'sleep 300')?.preloaded === true);
  const sl = running(g, 'sleep 300')!;
  assert.is(sl.ppid, g.programs[0]!.rootPid);
  assert.equal(linkFds(sl.pid), [], 'no link: it never had to speak');
  const cp = checkpoint(as, 'lazyck');
  assert.is(cp.processes, 2, 'the lazy image took part in the barrier');
  assert.is(linkFds(sl.pid).length, 1, 'called home for the checkpoint: it has its link now');
  const after = ps(home.env, 'lazyck').groups[0]!;
  assert.is(running(after, 'sleep 300')?.pid, sl.pid, 'still the same record, with its argv');
  durunSync(home.env, ['stop', 'lazyck']);
});

/** One proc link of our own: the hello, then each line. */
async function forge(lines: object[]): Promise<net.Socket> {
  const s = net.connect(path.join(home.dir, 'supervisor.sock'));
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  for (const l of lines) s.write(JSON.stringify(l) + '\n');
  return s;
}

test('a forged exec announce naming a pid outside the tree changes nothing', async () => {
  const victim = spawn('sleep', ['303'], { stdio: 'ignore' });
  outsiders.push(victim);
  detach('forged', ['sleep', '304']);
  const g = await waitGroup(home.env, 'forged', 'member runs', (g) => running(g, 'sleep 304') !== undefined);
  const member = running(g, 'sleep 304')!;
  const announce = (pid: number) => ({ v: 1, op: 'exec', pid, path: '/bin/evil', argv: ['evil'], lazy: true, execCount: 1 });
  // From outside the tree: this test process claims to be the program's.
  const hello = {
    v: 1, op: 'hello', role: 'proc', reason: 'load', pid: process.pid, ppid: process.ppid, group: 'forged', program: g.programs[0]!.id,
    instance: 1, execCount: 0, exe: process.execPath, argv: ['x'], cwd: '/', startedAt: Date.now(),
  };
  const s = await forge([hello, announce(victim.pid!), announce(member.pid)]);
  await waitFor('both refused', () => supervisorLog().split('\n').filter((l) => l.includes(`pid ${process.pid} announced an exec of pid`) && l.includes('not in its program\'s tree')).length >= 2);
  // From inside the tree: a member names a process that is not its child, then (as the marker that the
  // supervisor read that far) announces an exec of its own real child.
  const py = path.join(home.dir, 'forger.py');
  writeFileSync(py, `import json, os, socket, sys, time
child = os.fork()
if child == 0:
    time.sleep(300)
    os._exit(0)
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ['DURUN_SOCK'])
e = os.environ
def say(**m):
    s.sendall((json.dumps(dict(v=1, **m)) + '\\n').encode())
say(op='hello', role='proc', reason='callhome', pid=os.getpid(), ppid=os.getppid(), group=e['DURUN_GROUP'],
    program=int(e['DURUN_PROGRAM']), instance=int(e['DURUN_INSTANCE']), execCount=0, exe=sys.executable,
    argv=sys.argv, cwd=os.getcwd(), startedAt=int(time.time() * 1000))
say(op='exec', pid=int(sys.argv[1]), path='/bin/evil', argv=['evil'], lazy=True, execCount=1)
say(op='exec', pid=${member.pid}, path='/bin/evil', argv=['evil'], lazy=True, execCount=1)
say(op='fork', pid=os.getpid(), child=child)
say(op='exec', pid=child, path='/bin/marker', argv=['marker'], lazy=True, execCount=1)
time.sleep(300)
`);
  detach('forged2', ['python3', py, String(victim.pid)]);
  await waitGroup(home.env, 'forged2', 'the real child\'s announce applied', (g) => running(g, 'marker') !== undefined);
  assert.ok(supervisorLog().includes(`announced an exec of pid ${member.pid}, which is not its child; ignored`), 'another group\'s member is not its child');
  const all = ps(home.env).groups;
  assert.not.ok(all.some((gr) => gr.processes.some((p) => p.pid === victim.pid)), 'the outsider has no record');
  assert.not.ok(all.some((gr) => gr.processes.some((p) => p.argv[0] === 'evil')), 'no record took the forged argv');
  assert.is(running(all.find((gr) => gr.name === 'forged')!, 'sleep 304')?.pid, member.pid, 'the member is unchanged');
  s.destroy();
  durunSync(home.env, ['stop', 'forged']);
  durunSync(home.env, ['stop', 'forged2']);
});

test.run();
