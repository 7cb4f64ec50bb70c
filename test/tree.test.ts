// Issue 2: every process of a shell script's tree is tracked with the right
// parent: background jobs, pipelines, a setsid double-fork daemon, exec,
// `env -i` exec, a static binary, and exited children with their status.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { durunAsync, shutdownAll, waitGroup } from './helpers/durun.js';
import { buildStaticSleep } from './helpers/static-bin.js';
import { waitFor } from './helpers/wait.js';
import type { GroupView, ProcessView } from '../supervisor/src/protocol/views.js';

const home = tempHome();
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
});

const byArgv = (g: GroupView, text: string): ProcessView | undefined =>
  [...g.processes].reverse().find((p) => p.argv.join(' ') === text);

test('a bash script tree appears in ps --json with correct parents and statuses', async () => {
  const staticSleep = buildStaticSleep(home.dir);
  const ready = path.join(home.dir, 'ready');
  const script = path.join(home.dir, 'tree.sh');
  writeFileSync(script, `#!/bin/bash
sleep 300 &
echo a | tr a b > /dev/null
(setsid sleep 301 &)
bash -c 'exec sleep 302' &
env -i /bin/sleep 303 &
${staticSleep} 304 &
sh -c 'exit 6'
touch ${ready}
wait
`);
  chmodSync(script, 0o755);
  const { done } = durunAsync(home.env, ['--group', 'tree', '--', script]);
  await waitFor('script ready', () => existsSync(ready));

  const g = await waitGroup(home.env, 'tree', 'all children visible', (g) =>
    ['sleep 300', 'sleep 301', 'sleep 302', '/bin/sleep 303', `${staticSleep} 304`].every((a) => byArgv(g, a)?.state === 'running')
    && byArgv(g, 'sh -c exit 6')?.state === 'exited');
  const root = g.processes.find((p) => p.pid === g.programs[0]!.rootPid)!;
  assert.ok(root, 'root process listed');
  assert.is(root.argv[1], script);
  const runner = g.programs[0]!.runnerPid;

  assert.is(byArgv(g, 'sleep 300')!.ppid, root.pid, 'background job is a child of the script');
  assert.is(byArgv(g, 'sleep 301')!.ppid, runner, 'double-forked daemon re-parented to the runner (subreaper)');
  const exec = byArgv(g, 'sleep 302')!;
  assert.is(exec.ppid, root.pid);
  assert.ok(exec.execCount >= 1, `exec counted (${exec.execCount})`);
  const envI = byArgv(g, '/bin/sleep 303')!;
  assert.ok(envI.preloaded, 'registration survives env -i');
  assert.ok(envI.execCount >= 1);
  const stat = byArgv(g, `${staticSleep} 304`)!;
  assert.is(stat.preloaded, false, 'static binary cannot load the interceptor');
  assert.is(stat.ppid, root.pid);
  const exited = byArgv(g, 'sh -c exit 6')!;
  assert.is(exited.exitStatus, 6);
  const tr = byArgv(g, 'tr a b');
  assert.ok(tr && tr.state === 'exited' && tr.exitStatus === 0, 'pipeline member exited 0');
  for (const p of g.processes.filter((p) => p.state === 'running')) {
    assert.type(p.rss, 'number', `rss of ${p.pid}`);
    assert.type(p.cpu, 'number', `cpu of ${p.pid}`);
  }
  shutdownAll(home.env);
  const res = await done;
  assert.ok(res.code !== null, 'foreground durun ended after stop');
});

test.run();
