// Tests that forge identities or kill supervisors run inside a pid namespace
// of their own (with its own /proc), so that a durun bug that signals the
// wrong pid (pid 1, a bystander's tree) can only hit the test itself.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const INSIDE = 'DURUN_TEST_IN_PIDNS';

/**
 * Re-runs this test file as pid 1 of a new pid namespace (and mount
 * namespace, for its /proc); returns true in the copy that should run the
 * tests. The outer copy waits and exits with the inner one's status. Needs
 * root or unprivileged user namespaces; returns a reason string otherwise.
 */
export function insidePidNamespace(testFile: string): true | string {
  if (process.env[INSIDE] === '1') return true;
  const userns = process.getuid!() === 0 ? [] : ['--user', '--map-root-user'];
  const probe = spawnSync('unshare', [...userns, '--pid', '--fork', '--mount-proc', 'true']);
  if (probe.status !== 0) return `no pid namespace here (unshare: ${String(probe.stderr ?? probe.error).trim()})`;
  const res = spawnSync('unshare', [...userns, '--pid', '--fork', '--mount-proc', process.execPath, fileURLToPath(testFile)], {
    stdio: 'inherit', env: { ...process.env, [INSIDE]: '1' },
  });
  process.exit(res.status ?? 1);
}
