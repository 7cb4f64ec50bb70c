// Issue 13: the README's first commands, run in a fresh clone of HEAD, put
// `durun` on PATH with its man page and bash completion; the installed copy
// works from a new login shell after the clone is gone. Also: the man page,
// the completion and `durun --help` name the same commands.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './helpers/paths.js';
import { removeTree } from './helpers/home.js';
import { USAGE } from '../launcher/src/messages.js';

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The README's first ```sh block, as the operator copies it. */
function firstShBlock(): string {
  const m = /```sh\n([\s\S]*?)```/.exec(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  if (!m) throw new Error('README.md has no ```sh block');
  return m[1]!;
}

/** Sub-commands `durun --help` lists: the first word after "durun" on each usage line, and `run` of `durun [run]`. */
function usageCommands(): string[] {
  const words = [...USAGE.matchAll(/^ *(?:usage: )?durun \[?(\w[\w-]*)/gm)].map((m) => m[1]!);
  return [...new Set(words)].sort();
}

test('durun --help, the man page and the bash completion name the same commands', () => {
  const fromUsage = usageCommands();
  assert.ok(fromUsage.includes('rm') && fromUsage.includes('ps'), fromUsage.join(' '));
  const man = readFileSync(path.join(ROOT, 'docs', 'durun.1'), 'utf8');
  const fromMan = [...man.matchAll(/^\.BR "?(\w[\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'run');
  assert.equal([...new Set(fromMan)].sort(), fromUsage.filter((c) => c !== 'run'), 'man page COMMANDS');
  const completion = readFileSync(path.join(ROOT, 'scripts', 'durun.bash-completion'), 'utf8');
  const listed = /local commands="([^"]+)"/.exec(completion)![1]!.split(' ').filter((c) => !['help', 'version'].includes(c)).sort();
  assert.equal(listed, fromUsage, 'completion');
});

test('the README install in a fresh clone puts durun, its man page and completion on PATH; ps works from a new login shell', () => {
  const head = sh('git', ['-C', ROOT, 'rev-parse', 'HEAD']);
  assert.is(head.code, 0, `this test needs the repository as a git checkout: ${head.err}`);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'durun-oinst-'));
  const clone = path.join(scratch, 'clone');
  // The login shell's home, with Debian's ~/.profile: ~/.local/bin joins PATH once it exists. The
  // install goes where `make install` puts it for a user who is not root (root's /usr/local/bin is
  // on PATH already; a test must not write there).
  const loginHome = path.join(scratch, 'user');
  const prefix = path.join(loginHome, '.local');
  const home = path.join(scratch, 'durun-home');
  mkdirSync(loginHome);
  writeFileSync(path.join(loginHome, '.profile'), existsSync('/etc/skel/.profile') ? readFileSync('/etc/skel/.profile') : 'if [ -d "$HOME/.local/bin" ]; then PATH="$HOME/.local/bin:$PATH"; fi\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env, PREFIX: prefix, PATH: `${prefix}/bin:${process.env.PATH}`, DURUN_HOME: home,
    npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false',
  };
  delete env.LD_PRELOAD;
  const login = (script: string) => sh('env', ['-i', `HOME=${loginHome}`, `PATH=${SYSTEM_PATH}`, `DURUN_HOME=${home}`, 'bash', '-lc', script]);
  try {
    for (const args of [['init', '-q', clone], ['-C', clone, 'fetch', '-q', '--depth', '1', ROOT, head.out.trim()], ['-C', clone, 'checkout', '-q', 'FETCH_HEAD']]) {
      const r = sh('git', args);
      assert.is(r.code, 0, `git ${args.join(' ')}: ${r.err}`);
    }
    const install = sh('bash', ['-c', firstShBlock()], { cwd: clone, env, timeoutMs: 300_000 });
    assert.match(install.out, /hello from pid \d+/, `the README's first run:\n${install.out}\n${install.err}`);
    assert.match(install.out, /exit status: 3/);
    assert.ok(existsSync(path.join(prefix, 'share', 'man', 'man1', 'durun.1')), 'man page installed');
    assert.ok(existsSync(path.join(prefix, 'share', 'bash-completion', 'completions', 'durun')), 'completion installed');
    const dry = sh('make', ['-n', '-C', clone, 'install'], { env: { ...process.env, PREFIX: '' } });
    assert.match(dry.out, process.getuid!() === 0 ? /\/usr\/local\/lib\/durun/ : new RegExp(`${os.homedir()}/\\.local/lib/durun`), 'default PREFIX');
    removeTree(clone); // the installed copy must not need the clone

    const found = login('command -v durun');
    assert.is(found.out.trim(), path.join(prefix, 'bin', 'durun'), `durun on PATH in a new login shell: ${found.err}`);
    assert.is(realpathSync(found.out.trim()), path.join(prefix, 'lib', 'durun', 'build', 'durun'));
    const ps = login('durun ps');
    assert.is(ps.code, 0, ps.err);
    assert.match(ps.out, /^sh +exited/m, `the README's run is listed:\n${ps.out}`);

    const completion = path.join(prefix, 'share', 'bash-completion', 'completions', 'durun');
    const complete = (words: string) => login(`source ${completion}; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _durun; echo "\${COMPREPLY[*]}"`).out.trim().split(' ');
    assert.equal(complete("durun re").sort(), ['reload', 'restart', 'restore', 'resurrect']);
    assert.equal(complete("durun rm ''"), ['sh'], 'group names from the supervisor');

    const down = login('durun shutdown');
    assert.is(down.code, 0, down.err);
    const un = sh('make', ['-C', ROOT, 'uninstall', `PREFIX=${prefix}`]);
    assert.is(un.code, 0, un.err);
    assert.not.ok(existsSync(path.join(prefix, 'bin', 'durun')) || existsSync(path.join(prefix, 'lib', 'durun')), 'uninstalled');
  } finally {
    sh('env', [`DURUN_HOME=${home}`, path.join(ROOT, 'build', 'durun'), 'shutdown'], { env: { ...process.env, DURUN_HOME: home } });
    removeTree(scratch);
  }
});

test.run();
