// Issue 13: --env, --env-file, --cwd, --user and --limit (rlimits; cgroup v2
// memory/CPU where the machine offers it, a clear refusal where not), the
// same keys in a policy, and `durun start`, `durun signal`, `durun save` /
// `durun resurrect`, against real programs and files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempHome, removeTree } from './helpers/home.js';
import { durunSync, group, policyUp, shutdownAll, waitGroup } from './helpers/durun.js';
import { isAlive, waitFor } from './helpers/wait.js';

const home = tempHome('durun-olaunch-');
const work = mkdtempSync(path.join(os.tmpdir(), 'durun-olaunch-w-'));
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
  removeTree(work);
});

const readWhenThere = (file: string) => waitFor(`${file} written`, () => (existsSync(file) && readFileSync(file, 'utf8').endsWith('\n') ? readFileSync(file, 'utf8') : undefined));

/** The cgroup v2 controllers offered to our own cgroup ("" where there is none). */
function cgroupControllers(): string {
  const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.includes(' - cgroup2 '))?.split(' ')[4];
  const rel = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))?.slice(3);
  if (!mount || rel === undefined) return '';
  const file = path.join(mount, rel, 'cgroup.controllers');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
}

test('--env-file then --env, --cwd and rlimits reach the program; the runner keeps its own limits', async () => {
  const envFile = path.join(work, 'app.env');
  writeFileSync(envFile, '# settings\nexport GREETING="hello world"\nLEVEL=1\n\nQUOTED=\'a b\'\n');
  const out = path.join(work, 'seen');
  const r = durunSync(home.env, ['--detach', '--group', 'envy', '--env-file', envFile, '--env', 'LEVEL=2', '--cwd', '/usr', '--limit', 'nofile=77', '--limit', 'core=0',
    '--', 'sh', '-c', `echo "$GREETING|$LEVEL|$QUOTED|$(pwd)|$(ulimit -n)|$(ulimit -c)" > ${out}; exec sleep 600`]);
  assert.is(r.code, 0, r.stderr);
  assert.is(await readWhenThere(out), 'hello world|2|a b|/usr|77|0\n');
  const g = await waitGroup(home.env, 'envy', 'running', (x) => x.state === 'running');
  assert.is(g.programs[0]!.cwd, '/usr');
  const runnerLimits = readFileSync(`/proc/${g.programs[0]!.runnerPid}/limits`, 'utf8');
  assert.not.match(runnerLimits, /Max open files\s+77\s/, 'the runner keeps its own nofile');
});

test('bad launch flags are usage errors naming the flag or file:line, and nothing is registered', () => {
  const bad = path.join(work, 'bad.env');
  writeFileSync(bad, 'GOOD=1\nnot an assignment\n');
  const cases: Array<[string[], string]> = [
    [['--env-file', bad], `--env-file ${bad}:2: "not an assignment" is not NAME=VALUE`],
    [['--env', '1X=2'], '--env: "1X=2" is not NAME=VALUE'],
    [['--cwd', path.join(work, 'nowhere')], `--cwd ${path.join(work, 'nowhere')}: No such file or directory`],
    [['--limit', 'nofile=lots'], '--limit nofile: "lots" is not a whole number'],
    [['--limit', 'colour=blue'], '--limit "colour=blue": write NAME=VALUE; NAME one of memory, cpu'],
    [['--user', 'no-such-user-here'], '--user no-such-user-here: no such user'],
  ];
  for (const [flags, message] of cases) {
    const r = durunSync(home.env, ['--group', 'refused', ...flags, '--', 'true']);
    assert.is(r.code, 2, flags.join(' '));
    assert.match(r.stderr, message);
  }
  assert.is(group(home.env, 'refused'), undefined, 'nothing registered');
});

test('--limit memory/cpu: a cgroup of its own where cgroup v2 offers the controllers, else a refusal that says what was found', async () => {
  const controllers = cgroupControllers().split(' ');
  const out = path.join(work, 'cg');
  const r = durunSync(home.env, ['--group', 'capped', '--limit', 'memory=64M', '--limit', 'cpu=50%', '--', 'sh', '-c', `cat /proc/self/cgroup > ${out}`]);
  if (controllers.includes('memory') && controllers.includes('cpu')) {
    assert.is(r.code, 0, r.stderr);
    const rel = readFileSync(out, 'utf8').split('\n').find((l) => l.startsWith('0::'))!.slice(3);
    assert.match(rel, /\/durun-capped-\d+$/);
  } else {
    assert.is(r.code, 2, `expected a refusal here (controllers: "${controllers.join(' ')}")`);
    assert.match(r.stderr, /--limit memory and cpu needs the memory and cpu controller of cgroup v2|--limit memory and cpu needs cgroup v2, which is not mounted here/);
    assert.not.ok(existsSync(out), 'the program did not run');
  }
});

test('--user runs the program as that user (root only)', () => {
  if (process.getuid!() !== 0) return;
  const r = durunSync(home.env, ['--group', 'asnobody', '--user', 'nobody', '--', 'sh', '-c', 'echo "$(id -u) $USER"']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), '65534 nobody');
});

test('policy env_file and limit.* reach the program; a bad limit is an error at file:line', async () => {
  const dir = mkdtempSync(path.join(work, 'pol-'));
  writeFileSync(path.join(dir, 'p.env'), 'FROM_FILE=yes\n');
  const out = path.join(dir, 'seen');
  writeFileSync(path.join(dir, 'show.sh'), `echo "$FROM_FILE $(ulimit -n)" > ${out}\nexec sleep 600\n`);
  policyUp(home.env, dir, 'p', '[group polenv]\ncommand = sh show.sh\nenv_file = p.env\nlimit.nofile = 99\n');
  assert.is(await readWhenThere(out), 'yes 99\n');
  const bad = path.join(dir, 'bad.ini');
  writeFileSync(bad, '[group badlimit]\ncommand = true\nlimit.nofile = lots\nlimit.colour = 1\n');
  const r = durunSync(home.env, ['up', '-f', bad]);
  assert.is(r.code, 1);
  assert.match(r.stderr, `${bad}:3: limit.nofile: "lots" is not valid; write a whole number, as SOFT or SOFT:HARD, or unlimited`);
  assert.match(r.stderr, `${bad}:4: limit.colour: "1" is not valid; write one of the limits memory, cpu`);
  assert.is(durunSync(home.env, ['down', 'polenv']).code, 0);
});

test('durun start brings a stopped ad-hoc group back with its flags; a foreground one comes back detached', async () => {
  const out = path.join(work, 'started');
  const script = `echo "$MODE $(pwd)" >> ${out}; exec sleep 600`;
  assert.is(durunSync(home.env, ['--detach', '--group', 'again', '--env', 'MODE=flagged', '--cwd', '/tmp', '--', 'sh', '-c', script]).code, 0);
  await waitFor('first run', () => existsSync(out) && readFileSync(out, 'utf8').split('\n').length === 2);
  const refused = durunSync(home.env, ['start', 'again']);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, 'group again is already running; durun restart again restarts it');
  assert.is(durunSync(home.env, ['stop', 'again']).code, 0);
  const s = durunSync(home.env, ['start', 'again']);
  assert.is(s.code, 0, s.stderr);
  assert.match(s.stdout, 'started group again (1 program(s), detached');
  await waitFor('second run', () => readFileSync(out, 'utf8').split('\n').length === 3);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n'), ['flagged /tmp', 'flagged /tmp']);
  const g = await waitGroup(home.env, 'again', 'running again, one program', (x) => x.state === 'running' && x.programs.length === 1);
  assert.is(g.programs[0]!.detached, true);

  assert.is(durunSync(home.env, ['--group', 'fg', '--', 'sh', '-c', 'exit 0']).code, 0);
  assert.is(durunSync(home.env, ['start', 'fg']).code, 0);
  const fg = await waitGroup(home.env, 'fg', 'ran again, detached', (x) => x.programs.length === 1 && x.programs[0]!.detached && x.state === 'exited');
  assert.is(fg.programs[0]!.lastExit?.status, 0);
});

test('durun signal delivers to the main process (it goes on running), --all to every process', async () => {
  const hup = path.join(work, 'hup');
  const usr = path.join(work, 'usr1');
  const script = `trap 'echo hup >> ${hup}' HUP; (trap 'echo child >> ${usr}; exit 0' USR1; while :; do sleep 0.1; done) & while :; do sleep 0.1; done`;
  assert.is(durunSync(home.env, ['--detach', '--group', 'sig', '--', 'sh', '-c', script]).code, 0);
  const g = await waitGroup(home.env, 'sig', 'running with its child', (x) => x.processes.filter((p) => p.state === 'running').length >= 2);
  const root = g.programs[0]!.rootPid!;
  const r = durunSync(home.env, ['signal', 'sig', 'HUP']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'sent signal 1 to the main process of 1 program(s) of sig');
  await waitFor('the trap ran', () => existsSync(hup));
  assert.ok(isAlive(root), 'still running');
  assert.not.ok(existsSync(usr), 'the child got nothing');
  assert.is(durunSync(home.env, ['signal', '--all', 'sig', 'SIGUSR1']).code, 0);
  await waitFor('the child\'s trap ran', () => existsSync(usr));
  const bad = durunSync(home.env, ['signal', 'sig', 'SIGNOPE']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, '"SIGNOPE" is not a signal');
  assert.is(durunSync(home.env, ['stop', 'sig']).code, 0);
  const none = durunSync(home.env, ['signal', 'sig', 'HUP']);
  assert.is(none.code, 1);
  assert.match(none.stderr, 'group sig has no running program to signal');
});

test('durun save, then everything gone as after a reboot, then durun resurrect: the groups run again with their flags', async () => {
  const h = tempHome('durun-oresur-');
  const out = path.join(work, 'resurrected');
  try {
    assert.is(durunSync(h.env, ['--detach', '--group', 'keep', '--env', 'WHO=saved', '--cwd', '/tmp', '--limit', 'nofile=55',
      '--', 'sh', '-c', `echo "$WHO $(pwd) $(ulimit -n)" >> ${out}; exec sleep 600`]).code, 0);
    await waitFor('first run', () => existsSync(out));
    assert.is(durunSync(h.env, ['--group', 'done', '--', 'true']).code, 0);
    const saved = durunSync(h.env, ['save']);
    assert.is(saved.code, 0, saved.stderr);
    assert.match(saved.stdout, `saved 1 program(s) of keep to ${path.join(h.dir, 'saved.json')}`);
    // The reboot: every program and the supervisor end.
    const pid = (await waitGroup(h.env, 'keep', 'running', (x) => x.state === 'running')).programs[0]!.rootPid!;
    shutdownAll(h.env);
    await waitFor('the program ended', () => !isAlive(pid));
    const r = durunSync(h.env, ['resurrect']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, 'resurrected keep');
    await waitFor('second run', () => readFileSync(out, 'utf8').split('\n').length === 3);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n'), ['saved /tmp 55', 'saved /tmp 55']);
    const again = durunSync(h.env, ['resurrect']);
    assert.match(again.stdout, 'resurrected none; already running: keep');
  } finally {
    shutdownAll(h.env);
    h.cleanup();
  }
});

test.run();
