// `durun restore` is sent by the C executable itself (launcher/c/client.c),
// so no Node starts on the restore path. Its output, exit codes and errors
// must be the Node CLI's (launcher/src/checkpoint-cli.ts): both are run on
// the same checkpoint here and compared; what the C side does not handle
// (usage errors) still reaches the Node CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './helpers/paths.js';
import { waitFor } from './helpers/wait.js';
import { checkpoint, compile, durun, durunOk, killAll, runningPids, waitTick, rootWorkspace, type Run } from './helpers/checkpoint.js';

const { home, as, bin, cleanup } = rootWorkspace('durun-rcli');
test.after(cleanup);
const COUNTER = compile('counter.c', 'counter', bin);
const CLI = path.join(ROOT, 'dist', 'launcher', 'src', 'cli.js');

/** The same command through the Node CLI directly. */
function node(args: string[]): Run {
  const res = spawnSync(process.execPath, [CLI, ...args], { env: home.env, encoding: 'utf8', timeout: 60_000, cwd: '/' });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Pids differ between two restores: compare with them masked. */
const masked = (s: string) => s.replace(/\d+/g, 'N');

test('durun restore: the C path answers like the Node CLI (text, --json, errors, usage)', async () => {
  durunOk(as, ['run', '--detach', '--group', 'rc', '--restart', 'never', '--', COUNTER, path.join(bin, 'rc.dat'), '20']);
  const pid = await waitFor('rc running', () => runningPids(as, 'rc')[0], 10_000);
  await waitTick(home.dir, 'rc', 3, pid);
  const cp = checkpoint(as, 'rc');
  const runs: Array<[string, Run]> = [];
  for (const [how, args] of [['c', ['restore', 'rc']], ['node', ['restore', 'rc']], ['c', ['restore', '--json', 'rc']], ['node', ['restore', 'rc', '--json']],
    ['c', ['restore', 'rc', `--from=${cp.id}`]], ['node', ['restore', '--from', cp.id, 'rc']]] as Array<[string, string[]]>) {
    await killAll(as, 'rc');
    const r = how === 'c' ? durun(as, args) : node(args);
    assert.is(r.code, 0, `${how} ${args.join(' ')}: ${r.stderr}`);
    runs.push([how, r]);
    await waitFor('restored program running', () => runningPids(as, 'rc').length > 0, 15_000);
  }
  assert.match(runs[0]![1].stdout, new RegExp(`^durun: restored rc from checkpoint ${cp.id}: pid ${pid} \\(outside \\d+\\)\\n$`));
  for (const k of [0, 2, 4]) {
    assert.is(masked(runs[k]![1].stdout), masked(runs[k + 1]![1].stdout), `${k}: same output from C and Node`);
    assert.is(runs[k]![1].stderr, runs[k + 1]![1].stderr);
  }
  const j = JSON.parse(runs[2]![1].stdout) as { group: string; id: string; programs: number; processes: Array<{ pid: number; innerPid: number }> };
  assert.equal([j.group, j.id, j.programs, j.processes[0]!.innerPid], ['rc', cp.id, 1, pid]);
  // errors come from the supervisor, word for word, exit 1
  for (const args of [['restore', 'nosuch'], ['restore', 'rc', '--from', 'bogus']]) {
    const c = durun(as, args);
    const n = node(args);
    assert.is(c.code, 1);
    assert.is(n.code, 1);
    assert.is(c.stderr, n.stderr);
    assert.match(c.stderr, /^durun: group /);
  }
  // usage errors are the Node CLI's own (exit 2)
  const u = durun(as, ['restore']);
  assert.is(u.code, 2);
  assert.is(u.stderr, node(['restore']).stderr);
  await killAll(as, 'rc');
});

test.run();
