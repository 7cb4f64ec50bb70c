// Issue 4: start at boot (`durun boot install|uninstall`, redirected with
// DURUN_BOOT_DIR so the real /etc is never touched) and the launch history
// (`durun ps --history`, re-launch in recorded order and spacing on recovery).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { durunSync, group, waitGroup } from './helpers/durun.js';
import { isAlive, waitFor } from './helpers/wait.js';
import { DURUN_BIN } from './helpers/paths.js';
import { STAMP, stampGroup, stamps, workspace } from './helpers/stamps.js';

const { home, dir, cleanup } = workspace('durun-boot-');
const bootDir = path.join(dir, 'boot');
mkdirSync(bootDir);
test.after(cleanup);

test('boot install writes a systemd unit into DURUN_BOOT_DIR; uninstall removes it', () => {
  const env = { ...home.env, DURUN_BOOT_DIR: bootDir, DURUN_BOOT_SYSTEM: 'systemd' };
  const res = durunSync(env, ['boot', 'install', '-f', dir]);
  assert.is(res.code, 0, res.stderr);
  const unit = readFileSync(path.join(bootDir, 'durun.service'), 'utf8');
  assert.match(unit, `ExecStart=${DURUN_BIN} up --autostart -f ${dir}`);
  assert.match(unit, `Environment=DURUN_HOME=${home.dir}`);
  assert.match(unit, `ExecStop=${DURUN_BIN} down`);
  assert.match(unit, 'WantedBy=multi-user.target');
  assert.is(durunSync(env, ['boot', 'uninstall']).code, 0);
  assert.not.ok(existsSync(path.join(bootDir, 'durun.service')));
});

test('the SysV script brings up only autostart groups, reports status, stops them', async () => {
  const log = path.join(dir, 'boot.log');
  writeFileSync(path.join(dir, 'boot.ini'), stampGroup('auto', log, ['autostart = yes']) + stampGroup('manual', log));
  const env = { ...home.env, DURUN_BOOT_DIR: bootDir, DURUN_BOOT_SYSTEM: 'sysv' };
  assert.is(durunSync(env, ['boot', 'install', '-f', dir]).code, 0);
  const script = path.join(bootDir, 'durun');
  assert.is(statSync(script).mode & 0o777, 0o755);
  assert.is(spawnSync('sh', ['-n', script]).status, 0, 'valid shell');
  // Run it as init would: no DURUN_HOME of ours, the script carries its own.
  const initEnv = { PATH: '/usr/local/bin:/usr/bin:/bin' };
  const start = spawnSync(script, ['start'], { env: initEnv, encoding: 'utf8', timeout: 30_000 });
  assert.is(start.status, 0, start.stderr);
  await waitGroup(home.env, 'auto', 'running', (g) => g.state === 'running');
  assert.is(group(home.env, 'manual'), undefined, 'not autostart: not started');
  assert.is(spawnSync(script, ['status'], { env: initEnv }).status, 0);
  const stop = spawnSync(script, ['stop'], { env: initEnv, encoding: 'utf8', timeout: 30_000 });
  assert.is(stop.status, 0, stop.stderr);
  await waitFor('stopped', () => stamps(log).some((s) => s.event === 'stop' && s.name === 'auto'));
  assert.is(spawnSync(script, ['status'], { env: initEnv }).status, 3, 'LSB 3 once the supervisor is gone');
  const un = durunSync(env, ['boot', 'uninstall']);
  assert.match(un.stdout, script);
  assert.not.ok(existsSync(script));
});

test('launch history: ps --history, and recovery re-launches programs in recorded order and spacing', async () => {
  const log = path.join(dir, 'hist.log');
  const launch = (name: string) => {
    const r = durunSync(home.env, ['run', '--detach', '--group', 'hist', '--', STAMP, name, log]);
    assert.is(r.code, 0, r.stderr);
  };
  const startsOf = (name: string) => stamps(log).filter((s) => s.event === 'start' && s.name === name);
  launch('first');
  await waitFor('first started', () => startsOf('first').length === 1);
  const t0 = Date.now();
  await waitFor('600 ms of spacing (part of the scenario)', () => Date.now() - t0 >= 600);
  launch('second');
  await waitFor('second started', () => startsOf('second').length === 1);

  const hist = durunSync(home.env, ['ps', 'hist', '--history']);
  assert.is(hist.code, 0, hist.stderr);
  assert.match(hist.stdout, 'launch history');
  assert.match(hist.stdout, 'stamp.sh first');
  assert.match(hist.stdout, 'stamp.sh second');

  // A node-crash-like loss: runners and programs all killed at once. The
  // supervisor notices the lost runners and starts the group again by itself.
  const g = group(home.env, 'hist')!;
  const pids = [...g.programs.map((p) => p.runnerPid), ...g.processes.filter((p) => p.state === 'running').map((p) => p.pid)];
  for (const pid of pids) try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  await waitFor('all gone', () => pids.every((p) => !isAlive(p)));
  await waitFor('both re-launched', () => startsOf('first').length === 2 && startsOf('second').length === 2);
  await waitGroup(home.env, 'hist', 'two programs running under new runners', (x) => x.programs.filter((p) => p.state === 'running' && p.runnerConnected).length === 2);
  const again1 = startsOf('first')[1]!.ns;
  const again2 = startsOf('second')[1]!.ns;
  assert.ok(again1 < again2, 'same order');
  const gapMs = Number(again2 - again1) / 1e6;
  assert.ok(gapMs >= 500, `same spacing (was ~600 ms, now ${gapMs.toFixed(0)} ms)`);
  // An operator's restart of the recovered group brings each program back once more.
  const res = durunSync(home.env, ['restart', 'hist']);
  assert.is(res.code, 0, res.stderr);
  await waitFor('both restarted', () => startsOf('first').length === 3 && startsOf('second').length === 3);
});

test.run();
