// A script doing 1,000 fork+exec of /bin/true, bare vs under durun.
import { DURUN, benchHome, compareMedians, fmt, type Row } from './lib.js';

const LOOP = 'for i in $(seq 1000); do /bin/true; done';

export function forkExec(rounds = 5): Row {
  const home = benchHome();
  try {
    const m = compareMedians(rounds, home.env, ['bash', '-c', LOOP], [DURUN, '--group', 'loop', '--', 'bash', '-c', LOOP]);
    return { benchmark: `1,000 fork+exec of /bin/true (median of ${rounds})`, baseline: fmt(m.bare), durun: fmt(m.durun), ratio: `×${(m.durun / m.bare).toFixed(3)}`, aim: '≤ ×1.10' };
  } finally {
    home.close();
  }
}
