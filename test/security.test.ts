// Issue 2: state private to its user, other users refused, and the basics
// working for an ordinary (non-root) user.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { tempHome, removeTree } from './helpers/home.js';
import { durunSync, shutdownAll, waitGroup } from './helpers/durun.js';
import { DURUN_BIN } from './helpers/paths.js';
import { endUserProcesses, unprivilegedUser } from './helpers/user.js';
import { waitFor } from './helpers/wait.js';

const home = tempHome();
const user = unprivilegedUser();

test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
  if (typeof user !== 'string') {
    spawnSync(user.wrap([DURUN_BIN, 'shutdown', '--stop-all'])[0]!, user.wrap([DURUN_BIN, 'shutdown', '--stop-all']).slice(1), { env: user.env });
    endUserProcesses(user.uid);
    removeTree(user.home);
  }
});

const mode = (p: string) => statSync(p).mode & 0o777;

test('state directory 0700, socket and files 0600', async () => {
  assert.is(durunSync(home.env, ['--group', 'p', '--', 'true']).code, 0);
  await waitFor('state saved', () => statSync(path.join(home.dir, 'state.json'), { throwIfNoEntry: false }));
  assert.is(mode(home.dir), 0o700);
  assert.is(mode(path.join(home.dir, 'supervisor.sock')), 0o600);
  assert.is(mode(path.join(home.dir, 'state.json')), 0o600);
  assert.is(mode(path.join(home.dir, 'supervisor.log')), 0o600);
  assert.is(mode(path.join(home.dir, 'logs')), 0o700);
});

function runAs(u: Exclude<typeof user, string>, args: string[]) {
  const cmd = u.wrap([DURUN_BIN, ...args]);
  return spawnSync(cmd[0]!, cmd.slice(1), { env: u.env, encoding: 'utf8', timeout: 30_000 });
}

test('an ordinary user runs, restarts and inspects programs', async () => {
  if (typeof user === 'string') return console.log(`  skipped: ${user}`);
  const ok = runAs(user, ['--', 'sh', '-c', 'echo "uid $(id -u)"; exit 5']);
  assert.is(ok.status, 5, ok.stderr);
  assert.is(ok.stdout, `uid ${user.uid}\n`);
  const crash = runAs(user, ['--max-restarts', '1', '--backoff', '5', '--group', 'crash', '--', 'sh', '-c', 'kill -KILL $$']);
  assert.is(crash.status, 137, crash.stderr);
  const ps = runAs(user, ['ps', '--json', 'crash']);
  assert.is(ps.status, 0, ps.stderr);
  const g = JSON.parse(ps.stdout).groups[0];
  assert.is(g.state, 'failed');
  assert.is(g.restarts, 1);
  assert.is(statSync(user.env.DURUN_HOME!).uid, user.uid);
});

test("another user's supervisor refuses root's connection (SO_PEERCRED)", async () => {
  if (typeof user === 'string') return console.log(`  skipped: ${user}`);
  const sock = path.join(user.env.DURUN_HOME!, 'supervisor.sock');
  await waitFor('user supervisor up', () => statSync(sock, { throwIfNoEntry: false }));
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.createConnection(sock);
    let data = '';
    s.on('connect', () => s.write(JSON.stringify({ v: 1, op: 'hello', role: 'client' }) + '\n'));
    s.on('data', (d) => (data += d));
    s.on('close', () => resolve(data));
    s.on('error', reject);
  });
  const msg = JSON.parse(reply.trim());
  assert.is(msg.op, 'error');
  assert.match(msg.message, new RegExp(`refused: this supervisor belongs to uid ${user.uid}; uid 0 `));
  assert.match(readFileSync(path.join(user.env.DURUN_HOME!, 'supervisor.log'), 'utf8'), /refused connection from uid 0/);
});

test("an ordinary user cannot use root's supervisor", () => {
  if (typeof user === 'string') return console.log(`  skipped: ${user}`);
  const res = spawnSync(user.wrap([DURUN_BIN, 'ps'])[0]!, user.wrap([DURUN_BIN, 'ps']).slice(1), {
    env: { ...user.env, DURUN_HOME: home.dir }, encoding: 'utf8',
  });
  assert.is(res.status, 1, res.stderr);
  assert.match(res.stderr, /^durun: .*(permission denied|belongs to uid 0)/);
});

test('a program under durun sees no extra file descriptors but the documented link', () => {
  // ls lists its own fds (the directory it reads included), so both runs see the same set but the link.
  const list = ['ls', '/proc/self/fd'];
  const fdsOf = (out: string) => out.trim().split('\n').map(Number);
  const bare = fdsOf(spawnSync(list[0]!, list.slice(1), { encoding: 'utf8' }).stdout);
  const res = durunSync(home.env, ['--group', 'fds', '--', ...list]);
  assert.is(res.code, 0, res.stderr);
  const extra = fdsOf(res.stdout).filter((fd) => !bare.includes(fd));
  assert.is(extra.length, 1, `fds beyond the bare run: ${extra.join(' ')}`);
  assert.ok(extra[0]! >= 900, `the link sits at 900 or above, not ${extra[0]}`);
});

test('a detached program gets only stdin, stdout, stderr and the link, whatever its launcher held', async () => {
  // This test process itself holds extra fds (node's own pipes): none may leak.
  const res = durunSync(home.env, ['--detach', '--group', 'clean', '--', 'sleep', '300']);
  assert.is(res.code, 0, res.stderr);
  const g = await waitGroup(home.env, 'clean', 'running', (g) => g.processes.some((p) => p.state === 'running' && p.preloaded));
  const pid = g.processes.find((p) => p.state === 'running')!.pid;
  const fds = readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);
  assert.equal(fds.filter((fd) => fd < 900), [0, 1, 2], `fds: ${fds.join(' ')}`);
  assert.is(fds.filter((fd) => fd >= 900).length, 1);
});

test.run();
