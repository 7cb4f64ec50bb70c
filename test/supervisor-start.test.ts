// How the supervisor process is started: every way of starting it (the C
// launcher, a Node face, `durun daemon`) passes the same V8 flags, which
// keep the idle daemon small (bench/idle-footprint.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tempHome } from './helpers/home.js';
import { durunSync, shutdownAll } from './helpers/durun.js';
import { DURUN_BIN } from './helpers/paths.js';
import { waitFor, isAlive } from './helpers/wait.js';
import { SUPERVISOR_NODE_FLAGS, startSupervisor } from '../supervisor/src/protocol/client.js';

function supervisorArgv(home: string): Promise<string[]> {
  return waitFor('supervisor.pid', () => {
    const file = path.join(home, 'supervisor.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8'));
    if (!isAlive(pid)) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  }, 10_000, 50);
}

function assertFlags(argv: string[], how: string): void {
  const main = argv.findIndex((a) => a.endsWith(path.join('supervisor', 'src', 'main.js')));
  assert.ok(main > 0, `${how}: main.js in ${argv.join(' ')}`);
  assert.equal(argv.slice(1, main), [...SUPERVISOR_NODE_FLAGS], `${how}: node flags`);
}

/** Starts a supervisor in a fresh home the given way and checks its flags. */
async function checkStartedBy(how: string, start: (home: { dir: string; env: NodeJS.ProcessEnv }) => void): Promise<void> {
  const home = tempHome();
  try {
    start(home);
    assertFlags(await supervisorArgv(home.dir), how);
  } finally {
    shutdownAll(home.env);
    home.cleanup();
  }
}

test('the C launcher starts the supervisor with the shared node flags', () =>
  checkStartedBy('build/durun', (home) => assert.is(durunSync(home.env, ['ps']).code, 0)));

test('a Node face starts it with the same flags', () => checkStartedBy('startSupervisor', (home) => startSupervisor(home.dir)));

test('durun daemon runs it with the same flags', async () => {
  const home = tempHome();
  const daemon = spawn(DURUN_BIN, ['daemon'], { env: home.env, stdio: 'ignore' });
  try {
    assertFlags(await supervisorArgv(home.dir), 'durun daemon');
  } finally {
    shutdownAll(home.env);
    await new Promise((r) => (daemon.exitCode !== null ? r(null) : daemon.once('exit', r)));
    home.cleanup();
  }
});

test.run();
