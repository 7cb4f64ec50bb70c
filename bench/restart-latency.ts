// kill -9 of a supervised program until its replacement is running and
// registered: crash-to-restart latency. The replacement's start time is the
// one its interceptor reports at load, so polling speed does not count.
import { DURUN, benchHome, fmt, median, percentile, run, type Row } from './lib.js';
import type { PsView } from '../supervisor/src/protocol/views.js';

function rootOf(env: NodeJS.ProcessEnv): { pid: number; startedAt: number } | null {
  const view = JSON.parse(run(env, [DURUN, 'ps', '--json', 'victim']).stdout) as PsView;
  const g = view.groups[0];
  const rootPid = g?.programs[0]?.rootPid;
  const rec = g?.processes.find((p) => p.pid === rootPid && p.state === 'running' && p.preloaded);
  return rec ? { pid: rec.pid, startedAt: Date.parse(rec.startedAt) } : null;
}

async function nextRoot(env: NodeJS.ProcessEnv, notPid: number) {
  for (;;) {
    const r = rootOf(env);
    if (r && r.pid !== notPid) return r;
    await new Promise((res) => setTimeout(res, 5));
  }
}

export async function restartLatency(kills = 20): Promise<Row> {
  const home = benchHome();
  try {
    // --backoff 0: every restart immediate, so each kill measures the same path.
    run(home.env, [DURUN, '--detach', '--group', 'victim', '--backoff', '0', '--max-restarts', '1000', '--', 'sleep', '1000']);
    let cur = await nextRoot(home.env, -1);
    const lat: number[] = [];
    for (let i = 0; i < kills; i++) {
      const t0 = Date.now();
      process.kill(cur.pid, 'SIGKILL');
      const next = await nextRoot(home.env, cur.pid);
      lat.push(next.startedAt - t0);
      cur = next;
    }
    return {
      benchmark: `kill -9 → replacement registered (${kills} kills)`, baseline: '—',
      durun: `median ${fmt(median(lat))}, p90 ${fmt(percentile(lat, 90))}`, ratio: '—', aim: 'median ≤ 20 ms',
    };
  } finally {
    home.close();
  }
}
