// What each pane of `durun tui` shows, as plain text lines: pure functions of
// the supervisor's views, so they are tested without a terminal.
import type { GroupView } from '../../supervisor/src/protocol/views.js';
import type { DurunEvent } from '../../supervisor/src/protocol/events.js';
import { processTree } from '../../launcher/src/format-ps.js';

const STATE_MARK: Record<GroupView['state'], string> = {
  running: '●', restarting: '↻', stopped: '■', exited: '○', failed: '✗',
};

export function groupLines(groups: GroupView[]): string[] {
  return groups.map((g) => {
    const live = g.processes.filter((p) => p.state === 'running').length;
    return `${STATE_MARK[g.state]} ${g.name.padEnd(16)} ${g.state.padEnd(10)} ${String(live).padStart(3)} procs  restarts ${g.restarts}`;
  });
}

export function detailLines(g: GroupView | undefined): string[] {
  if (!g) return ['no groups yet: start one with  durun -- CMD  or  durun up -f POLICY'];
  const out = [`group ${g.name}: ${g.state}${g.failedReason ? ` (${g.failedReason})` : ''}`, ''];
  for (const p of g.programs) {
    const exit = p.lastExit ? (p.lastExit.signal ? `, last killed by signal ${p.lastExit.signal}` : `, last exit ${p.lastExit.status}`) : '';
    out.push(`program ${p.id} [${p.state}] instance ${p.instance}, restart ${p.restart}, ${p.restarts} restart(s)${exit}`);
    out.push(`  ${p.argv.join(' ')}`);
  }
  const running = g.processes.filter((p) => p.state === 'running');
  out.push('', `      PID STATE          CPU%     RSS  COMMAND`, ...processTree(running));
  return out;
}

export function eventLines(events: DurunEvent[]): string[] {
  return events.map((e) => `${e.time.slice(11, 23)} ${e.type.padEnd(16)} ${(e.group ?? '-').padEnd(12)} ${e.pid ?? ''} ${e.reason}`);
}

export const HELP = ' ↑/↓ select group   r restart   s stop   q quit';
