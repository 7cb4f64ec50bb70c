// The `limit.NAME` keys of a policy group: what the runner's --limit takes
// (launcher/c/launch.c applies them), checked here too so a mistake is an
// error at file:line when the policy loads, not when the group starts.
import { parseDuration } from '../protocol/duration.js';

/** cgroup v2 limits, then rlimits by kind. */
const SIZE = ['core', 'stack', 'fsize', 'as', 'data', 'memlock', 'msgqueue'];
const COUNT = ['nofile', 'nproc', 'locks', 'sigpending', 'nice', 'rtprio'];
export const LIMIT_NAMES: readonly string[] = ['memory', 'cpu', ...COUNT, ...SIZE, 'cputime'];

const sizeOk = (s: string) => /^(\d+([KMGT](iB)?)?|unlimited|infinity)$/i.test(s);
const countOk = (s: string) => /^(\d+|unlimited|infinity)$/.test(s);
const durationOk = (s: string) => s === 'unlimited' || s === 'infinity' || parseDuration(s) !== null;

/** null when `value` is a valid value of limit `name`, else what is expected. */
export function limitProblem(name: string, value: string): string | null {
  if (name === 'memory') return /^\d+[KMGT]?(iB)?$/i.test(value) && !/^0+[KMGT]?/i.test(value) ? null : 'a size such as 512M or 2G';
  if (name === 'cpu') return /^\d+(\.\d+)?%$/.test(value) && Number(value.slice(0, -1)) > 0 ? null : 'a share of one CPU in percent, such as 50% or 200%';
  const ok = SIZE.includes(name) ? sizeOk : COUNT.includes(name) ? countOk : name === 'cputime' ? durationOk : null;
  if (!ok) return `one of the limits ${LIMIT_NAMES.join(', ')}`;
  const [soft, hard, extra] = value.split(':');
  if (extra !== undefined || !ok(soft!) || (hard !== undefined && !ok(hard))) {
    return `${SIZE.includes(name) ? 'a size (64M)' : name === 'cputime' ? 'a duration (10m)' : 'a whole number'}, as SOFT or SOFT:HARD, or unlimited`;
  }
  return null;
}
