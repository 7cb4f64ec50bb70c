// Issue 8: a checkpoint attempt is never a fault of the program, a restored
// instance is judged like a launched one, checkpoint directories must be the
// user's alone, checks of a `user =` group run as that user, and a flood of
// requests is answered without a fork storm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeTree } from './helpers/home.js';
import { durunSync, group, policyUp, waitGroup } from './helpers/durun.js';
import { waitEvent } from './helpers/events.js';
import { isAlive, waitFor } from './helpers/wait.js';
import { compile, durun, durunOk, rootWorkspace, runningPids, waitTick } from './helpers/checkpoint.js';
import { unprivilegedUser } from './helpers/user.js';

const { home, as, bin, cleanup } = rootWorkspace('durun-trust');
/** Scratch trees the supervisor's checks may still write into: removed once it is shut down. */
const scratch: string[] = [];
test.after(() => {
  cleanup();
  for (const dir of scratch) removeTree(dir);
});
const COUNTER = compile('counter.c', 'counter', bin);
const user = unprivilegedUser();

test('a tight fork/exec loop is checkpointed 10 times in a row, and never restarted for it', async () => {
  durunOk(as, ['--detach', '--group', 'loop', '--', 'sh', '-c', 'while :; do /bin/true; done']);
  await waitGroup(home.env, 'loop', 'looping', (g) => g.programs[0]!.rootPid !== null);
  for (let i = 1; i <= 10; i++) {
    const r = durun(as, ['checkpoint', 'loop', '--json']);
    assert.is(r.code, 0, `checkpoint ${i}: ${r.stderr}`);
  }
  const g = group(home.env, 'loop')!;
  assert.is(g.restarts, 0, 'no checkpoint attempt was judged a crash');
  assert.is(g.state, 'running');
});

test('kill -9 of a restored root is a crash: the program is restarted', async () => {
  durunOk(as, ['--detach', '--group', 'rc', '--', COUNTER, path.join(bin, 'rc.dat'), '20']);
  const pid = await waitFor('counter up', () => runningPids(as, 'rc')[0]);
  await waitTick(home.dir, 'rc', 3, pid);
  durunOk(as, ['checkpoint', 'rc']);
  durunOk(as, ['restore', 'rc']);
  const restored = await waitGroup(home.env, 'rc', 'restored', (g) => g.processes.some((p) => p.state === 'running' && p.argv[0] === COUNTER));
  const before = restored.restarts;
  const root = restored.processes.find((p) => p.state === 'running' && p.argv[0] === COUNTER)!.pid;
  process.kill(root, 'SIGKILL');
  await waitEvent(home.env, 'rc', 'a crash fault', (e) => e.type === 'fault' && (e.data as { kind?: string }).kind === 'crash' && Date.parse(e.time) > Date.now() - 20_000);
  await waitGroup(home.env, 'rc', 'restarted from scratch', (g) => g.restarts === before + 1 && g.processes.some((p) => p.state === 'running' && p.argv[0] === COUNTER && p.pid !== root), 15_000);
});

test('a checkpoint.dir that others may write, or that another user owns, is refused and left as it was', () => {
  const open = path.join(bin, 'open');
  mkdirSync(open, { mode: 0o777 });
  chmodSync(open, 0o777);
  const ini = (dir: string, name: string) => `[group ${name}]\ncommand = sleep 4101\ncheckpoint.dir = ${dir}\n`;
  policyUp(home.env, bin, 'open', ini(open, 'opendir'));
  const r = durun(as, ['checkpoint', 'opendir']);
  assert.is(r.code, 1);
  assert.match(r.stderr, `lies under ${open} (owner uid 0, mode 0777), which someone else could change`);
  assert.is(statSync(open).mode & 0o777, 0o777, 'durun did not chmod it');
  assert.equal(readdirSync(open), [], 'nothing was written into it');
  if (typeof user === 'string') return console.log(`  foreign owner: skipped: ${user}`);
  const theirs = path.join(bin, 'theirs');
  mkdirSync(theirs, { mode: 0o700 });
  chownSync(theirs, user.uid, user.gid);
  policyUp(home.env, bin, 'theirs', ini(theirs, 'theirdir'));
  const t = durun(as, ['checkpoint', 'theirdir']);
  assert.is(t.code, 1);
  assert.match(t.stderr, `lies under ${theirs} (owner uid ${user.uid}`);
  const rs = durun(as, ['restore', 'theirdir']);
  assert.match(rs.stderr, `lies under ${theirs}`, 'a restore does not read from it either');
});

test('health checks and hooks of a user = group run as that user', async () => {
  if (typeof user === 'string') return console.log(`  skipped: ${user}`);
  // Where the user can write: a directory of its own under the sticky /tmp.
  const out = mkdtempSync(path.join(os.tmpdir(), 'durun-ids-'));
  scratch.push(out);
  chownSync(out, user.uid, user.gid);
  try {
    policyUp(home.env, bin, 'asuser', `[group asuser]\ncommand = sleep 4102\nuser = ${user.uid}\ncheck.who.command = id -u > ${out}/check\ncheck.who.interval = 200ms\non_event = id -u > ${out}/hook\n`);
    // The value waited for, not a second read: the next run truncates the file as it writes it again.
    const checkUid = await waitFor('the check ran', () => readFileSync(path.join(out, 'check'), 'utf8').trim());
    assert.is(checkUid, String(user.uid));
    durunSync(home.env, ['restart', 'asuser']);
    const hookUid = await waitFor('the hook ran', () => readFileSync(path.join(out, 'hook'), 'utf8').trim());
    assert.is(hookUid, String(user.uid));
  } finally {
    durunSync(home.env, ['stop', 'asuser']);
  }
});

test('2,000 pipelined ps requests on one connection are all answered, without a fork storm', async () => {
  const sup = Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));
  const sock = net.createConnection(path.join(home.dir, 'supervisor.sock'));
  let text = '';
  let maxChildren = 0;
  const watch = setInterval(() => {
    const kids = readFileSync(`/proc/${sup}/task/${sup}/children`, 'utf8').trim();
    maxChildren = Math.max(maxChildren, kids ? kids.split(' ').length : 0);
  }, 5);
  sock.on('data', (d) => (text += d));
  let lines = JSON.stringify({ v: 1, op: 'hello', role: 'client' }) + '\n';
  for (let i = 1; i <= 2000; i++) lines += JSON.stringify({ v: 1, op: 'ps', id: i }) + '\n';
  sock.write(lines);
  try {
    await waitFor('2000 answers', () => text.split('\n').filter((l) => l.includes('"op":"result"')).length >= 2000, 120_000, 50);
  } finally {
    clearInterval(watch);
    sock.destroy();
  }
  const answers = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: number; ok: boolean });
  assert.equal(answers.map((a) => a.id).sort((a, b) => a - b), Array.from({ length: 2000 }, (_, i) => i + 1), 'every request answered once');
  assert.ok(answers.every((a) => a.ok));
  assert.ok(maxChildren <= 4, `the supervisor had ${maxChildren} children at once while answering`);
  assert.ok(isAlive(sup));
});

test.run();
