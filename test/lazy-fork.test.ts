// Lazy registration of fork children (ARCHITECTURE.md, role `proc`): the
// parent reports a child it forks (`fork`), and the child opens a link of
// its own only when it has something to say. The supervisor must still know
// every such child with its parent, tell its crash from its planned exit,
// and reach it for a checkpoint barrier.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { durunSync, shutdownAll, waitGroup } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';
import { checkpoint, type As } from './helpers/checkpoint.js';
import type { GroupView, ProcessView } from '../supervisor/src/protocol/views.js';

const home = tempHome('durun-lazy-');
const as: As = { env: home.env, home: home.dir, wrap: (c) => c };
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
});

/** Writes an executable bash script into the test home. */
function script(name: string, body: string): string {
  const file = path.join(home.dir, name);
  writeFileSync(file, `#!/bin/bash\n${body}`);
  chmodSync(file, 0o755);
  return file;
}

/** A file the script writes its subshells' pids into, one "name pid" per line. */
function pidsFrom(file: string): Map<string, number> {
  if (!existsSync(file)) return new Map();
  return new Map(readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [k, v] = l.split(' ');
    return [k!, Number(v)] as [string, number];
  }));
}

const proc = (g: GroupView, pid: number): ProcessView | undefined => [...g.processes].reverse().find((p) => p.pid === pid);

function detach(group: string, argv: string[]): void {
  const r = durunSync(home.env, ['run', '--detach', '--group', group, '--restart', 'never', '--', ...argv]);
  assert.is(r.code, 0, r.stderr);
}

test('a fork child that never execs nor says anything is listed with its parent', async () => {
  const out = path.join(home.dir, 'silent.pids');
  // The subshell only runs builtins: it blocks in `read` on a fifo it holds open.
  const sh = script('silent.sh', `
fifo=${home.dir}/silent.fifo
rm -f "$fifo"; mkfifo "$fifo"
( exec 3<>"$fifo"; read -r -u 3 x ) &
echo "child $!" > ${out}
wait
`);
  detach('silent', [sh]);
  const child = await waitFor('child pid written', () => pidsFrom(out).get('child'));
  const g = await waitGroup(home.env, 'silent', 'silent child listed', (g) => proc(g, child)?.state === 'running');
  const root = g.programs[0]!.rootPid!;
  const rec = proc(g, child)!;
  assert.is(rec.ppid, root, 'its parent is the script');
  assert.ok(rec.preloaded, 'it carries the interceptor (a copy of its parent)');
  assert.is(rec.argv.join(' '), proc(g, root)!.argv.join(' '), 'a fork shows its parent\'s command line');
  durunSync(home.env, ['stop', 'silent']);
});

test('a fork child that crashes is seen as killed, with its signal', async () => {
  const out = path.join(home.dir, 'crash.pids');
  // The subshell kills itself before it ever had anything to say: no link, only the parent's reaped tells.
  const sh = script('crash.sh', `
echo "root $$" > ${out}
( echo "child $BASHPID" >> ${out}; kill -SEGV $BASHPID )
sleep 300
`);
  detach('crash', [sh]);
  const child = await waitFor('child pid written', () => pidsFrom(out).get('child'));
  const g = await waitGroup(home.env, 'crash', 'crashed child recorded', (g) => proc(g, child)?.state === 'killed');
  assert.is(proc(g, child)!.signal, 11);
  assert.is(proc(g, child)!.ppid, pidsFrom(out).get('root'), 'its parent is the script');
  durunSync(home.env, ['stop', 'crash']);
});

test('an orphaned fork child that exits 0 is a planned exit, the group keeps running', async () => {
  const out = path.join(home.dir, 'orphan.pids');
  const done = path.join(home.dir, 'orphan.done');
  // The inner subshell outlives its parent (re-parented to the runner), waits in a builtin, then exits 0.
  const sh = script('orphan.sh', `
fifo=${home.dir}/orphan.fifo
rm -f "$fifo"; mkfifo "$fifo"
( ( echo "child $BASHPID" >> ${out}; exec 3<>"$fifo"; read -r -t 1 -u 3 x; touch ${done}; exit 0 ) & )
sleep 300
`);
  detach('orphan', [sh]);
  const child = await waitFor('child pid written', () => pidsFrom(out).get('child'));
  await waitFor('child done', () => existsSync(done));
  const g = await waitGroup(home.env, 'orphan', 'orphan ended', (g) => proc(g, child)?.state === 'exited');
  assert.is(proc(g, child)!.exitStatus, 0);
  assert.is(g.state, 'running', 'a planned exit restarts nothing');
  assert.is(g.restarts, 0);
  durunSync(home.env, ['stop', 'orphan']);
});

test('a checkpoint reaches a fork child that never connected', async () => {
  // python's os.fork goes through the interposed fork(); the child only sleeps.
  const py = 'import os, time\npid = os.fork()\nwhile True:\n    time.sleep(1)\n';
  const file = path.join(home.dir, 'forker.py');
  writeFileSync(file, py);
  detach('ckfork', ['/usr/bin/python3', file]);
  const g = await waitGroup(home.env, 'ckfork', 'parent and child', (g) => g.processes.filter((p) => p.state === 'running').length === 2);
  const root = g.programs[0]!.rootPid!;
  const child = g.processes.find((p) => p.state === 'running' && p.pid !== root)!;
  assert.is(child.ppid, root);
  const cp = checkpoint(as, 'ckfork');
  assert.is(cp.processes, 2, 'the silent child took part in the barrier');
  durunSync(home.env, ['stop', 'ckfork']);
});

test.run();
