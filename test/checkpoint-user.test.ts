// Issue 3 without root: the unprivileged test user checkpoints and restores
// a C counter and a bash pipe tree with its own supervisor (durun-restore
// uses a user namespace to own the pid namespace).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeTree } from './helpers/home.js';
import { endUserProcesses, unprivilegedUser } from './helpers/user.js';
import { waitFor } from './helpers/wait.js';
import { CKPT_FIXTURES, checkpointKillRestore, compile, durun, durunOk, psOf, runningPids, type As } from './helpers/checkpoint.js';

const user = unprivilegedUser();
const bin = mkdtempSync(path.join(os.tmpdir(), 'durun-ckubin-'));
chmodSync(bin, 0o777);
const COUNTER = compile('counter.c', 'counter', bin);
const as: As | null = typeof user === 'string' ? null : { env: user.env, home: user.env.DURUN_HOME!, wrap: user.wrap };
test.after(() => {
  if (as) durun(as, ['shutdown', '--stop-all']);
  if (typeof user !== 'string') {
    endUserProcesses(user.uid);
    removeTree(user.home);
  }
  removeTree(bin);
});

test('unprivileged: C counter checkpointed, killed and restored', async () => {
  if (!as) return console.log(`skipped: ${String(user)}`);
  durunOk(as, ['run', '--detach', '--group', 'ucount', '--restart', 'never', '--', COUNTER, path.join(bin, 'u.dat'), '20']);
  const pid = await waitFor('ucount running', () => runningPids(as, 'ucount')[0], 10_000);
  const r = await checkpointKillRestore(as, 'ucount', pid);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
});

test('unprivileged: bash pipe tree', async () => {
  if (!as) return console.log(`skipped: ${String(user)}`);
  durunOk(as, ['run', '--detach', '--group', 'upipe', '--restart', 'never', '--', path.join(CKPT_FIXTURES, 'pipe.sh'), '0.02']);
  const g = await waitFor('4 processes', () => { const v = psOf(as, 'upipe'); return v && runningPids(as, 'upipe').length === 4 ? v : undefined; }, 10_000);
  const r = await checkpointKillRestore(as, 'upipe', g.programs[0]!.rootPid!);
  assert.ok(r.resumed > r.before && r.resumed <= r.after + 1, `resumed at ${r.resumed}: not between ${r.before} and ${r.after + 1}`);
});

test.run();
