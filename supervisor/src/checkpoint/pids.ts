// Processes inside a pid namespace (restored by durun-restore) see their old
// pids; the supervisor works with the pids outside, which SO_PEERCRED gives.
// A hello whose pid differs from its peer's is rewritten here: pid and ppid
// to the outside view, program and instance to the runner it runs under
// (its memory still names the program it was checkpointed in).
import type { Registry } from '../model/registry.js';
import type { ProcHello } from '../protocol/messages.js';
import { readStat } from '../procfs.js';

/** The outside view of a namespaced hello; `outerOf` maps an inner pid of the group to its outer pid. */
export function outsideHello(h: ProcHello, peerPid: number, registry: Registry, outerOf: (group: string, inner: number) => number | null): ProcHello {
  const group = registry.group(h.group);
  let program = group && registry.program(group, h.program);
  if (group) {
    const runners = new Map(group.programs.map((p) => [p.runnerPid, p]));
    for (let pid = peerPid, n = 0; pid > 1 && n < 64; n++) {
      const st = readStat(pid);
      if (!st) break;
      const hit = runners.get(st.ppid);
      if (hit) {
        program = hit;
        break;
      }
      pid = st.ppid;
    }
  }
  const ppid = outerOf(h.group, h.ppid) ?? readStat(peerPid)?.ppid ?? h.ppid;
  return { ...h, pid: peerPid, ppid, program: program?.id ?? h.program, instance: program?.instance ?? h.instance };
}
