// `durun -- true` vs `true`, supervisor already running: added wall time.
import { DURUN, benchHome, compareMedians, fmt, type Row } from './lib.js';

export function launchOverhead(runs = 100): Row {
  const home = benchHome();
  try {
    const m = compareMedians(runs, home.env, ['/bin/true'], [DURUN, '--group', 'bench', '--', '/bin/true']);
    return { benchmark: `durun -- true (median of ${runs})`, baseline: fmt(m.bare), durun: fmt(m.durun), ratio: `+${fmt(m.durun - m.bare)}`, aim: '≤ +20 ms' };
  } finally {
    home.close();
  }
}
