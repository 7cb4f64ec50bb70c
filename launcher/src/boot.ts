// `durun boot install|uninstall`: a systemd unit (or, where systemd is
// absent, a SysV init script) that starts the supervisor at boot and brings
// up the autostart groups. DURUN_BOOT_DIR redirects where the files go (for
// tests, and for image builders); DURUN_BOOT_SYSTEM picks systemd or sysv.
import { chmodSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TEMPLATES = { systemd: 'durun.service.in', sysv: 'durun-init.sh.in' } as const;
const TARGET = { systemd: ['/etc/systemd/system', 'durun.service'], sysv: ['/etc/init.d', 'durun'] } as const;
type BootSystem = keyof typeof TEMPLATES;

export interface BootPlan { system: BootSystem; file: string; redirected: boolean }

function system(env: NodeJS.ProcessEnv): BootSystem {
  const forced = env.DURUN_BOOT_SYSTEM;
  if (forced === 'systemd' || forced === 'sysv') return forced;
  if (forced) throw new Error(`DURUN_BOOT_SYSTEM must be systemd or sysv, not "${forced}"`);
  return existsSync('/run/systemd/system') ? 'systemd' : 'sysv';
}

function plan(env: NodeJS.ProcessEnv, sys: BootSystem): BootPlan {
  const [dir, name] = TARGET[sys];
  return { system: sys, file: path.join(env.DURUN_BOOT_DIR || dir, name), redirected: !!env.DURUN_BOOT_DIR };
}

const quote = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** Writes the boot file for these policy paths; returns what was written. */
export async function bootInstall(policyPaths: string[], home: string, env: NodeJS.ProcessEnv = process.env): Promise<BootPlan> {
  if (policyPaths.length === 0) throw new Error('durun boot install: name the policy with -f FILE|DIR (the files the boot brings up)');
  const p = plan(env, system(env));
  const text = readFileSync(path.join(ROOT, 'scripts', TEMPLATES[p.system]), 'utf8')
    .replaceAll('@DURUN@', quote(path.join(ROOT, 'build', 'durun')))
    .replaceAll('@HOME@', quote(home))
    .replaceAll('@USER@', os.userInfo().username)
    .replaceAll('@POLICY_ARGS@', policyPaths.map((f) => `-f ${quote(path.resolve(f))}`).join(' '))
    .replaceAll('@POLICY@', policyPaths.map((f) => path.resolve(f)).join(' '));
  writeFileSync(p.file, text, { mode: p.system === 'sysv' ? 0o755 : 0o644 });
  chmodSync(p.file, p.system === 'sysv' ? 0o755 : 0o644);
  if (!p.redirected) await enable(p, true);
  return p;
}

/** Removes the boot files (both kinds); returns the ones that were there. */
export async function bootUninstall(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const removed: string[] = [];
  for (const sys of Object.keys(TEMPLATES) as BootSystem[]) {
    const p = plan(env, sys);
    if (!existsSync(p.file)) continue;
    if (!p.redirected) await enable(p, false);
    unlinkSync(p.file);
    removed.push(p.file);
  }
  return removed;
}

/** Registers the file with the init system; only for the real locations, never a redirected one. */
async function enable(p: BootPlan, on: boolean): Promise<void> {
  const { execa } = await import('execa');
  const cmds = p.system === 'systemd'
    ? [['systemctl', 'daemon-reload'], ['systemctl', on ? 'enable' : 'disable', 'durun.service']]
    : [['update-rc.d', 'durun', on ? 'defaults' : 'remove']];
  for (const cmd of cmds) {
    const res = await execa(cmd[0]!, cmd.slice(1), { stdio: 'inherit', reject: false });
    if (res.failed) process.stderr.write(`durun boot: ${cmd.join(' ')} did not succeed; run it yourself\n`);
  }
}
