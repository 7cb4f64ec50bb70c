// Supervisor RSS and CPU with 200 supervised idle processes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DURUN, benchHome, run, type Row } from './lib.js';
import type { PsView } from '../supervisor/src/protocol/views.js';

const CLK_TCK = 100;

function cpuTicks(pid: number): number {
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime
}

function rssMiB(pid: number): number {
  const kb = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]);
  return kb / 1024;
}

export async function idleFootprint(count = 200, seconds = 10): Promise<Row> {
  const home = benchHome();
  try {
    run(home.env, [DURUN, '--detach', '--group', 'idle', '--', 'bash', '-c', `for i in $(seq ${count}); do sleep 100000 & done; wait`]);
    for (;;) {
      const view = JSON.parse(run(home.env, [DURUN, 'ps', '--json', 'idle']).stdout) as PsView;
      if ((view.groups[0]?.processes.filter((p) => p.state === 'running' && p.argv[0] === 'sleep').length ?? 0) >= count) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const pid = Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));
    await new Promise((r) => setTimeout(r, 2000)); // let start-up work settle
    const t0 = cpuTicks(pid);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu = ((cpuTicks(pid) - t0) / CLK_TCK / seconds) * 100;
    return {
      benchmark: `supervisor with ${count} idle supervised processes`, baseline: '—',
      durun: `${rssMiB(pid).toFixed(1)} MiB RSS, ${cpu.toFixed(2)} % CPU`, ratio: '—', aim: '≤ 60 MB, ≤ 1 %',
    };
  } finally {
    home.close();
  }
}
