// `durun cluster` (membership, master, lease, where each placed group runs and
// how far its backups' replicas are) and `durun cluster events` (recent
// events of every node), and `durun upgrade GROUP`. cli.ts dispatches here and
// keeps the only process.exit.
import type { ClusterEvent, ClusterStatus, UpgradeAnswer } from '../../supervisor/src/protocol/cluster-requests.js';
import { args, type CliIo } from './cli-io.js';
import { jsonDoc } from './json-out.js';

export function formatCluster(s: ClusterStatus): string {
  const lines = [
    `cluster ${s.name}: node ${s.node} (${s.state}), master ${s.master ?? 'none'}, etcd ${s.endpoints.join(', ')}`,
    `lease ${s.lease.id ?? 'none'} (${s.lease.ttlSeconds} s), acting for ${(s.lease.validForMs / 1000).toFixed(1)} s more without a heartbeat`,
    'NODE            ADDRESS                 SINCE',
    ...s.nodes.map((n) => `${n.node.padEnd(15)} ${n.address.padEnd(23)} ${n.since}`),
  ];
  if (s.groups.length) {
    lines.push('GROUP           OWNER           ROLES', ...s.groups.map((g) => `${g.group.padEnd(15)} ${(g.owner ?? '-').padEnd(15)} ${g.nodes.map((n) => `${n}:${g.roles[n]}${g.replicas[n] ? ` (replica ${g.replicas[n]!.id}, ${g.replicas[n]!.lagMs} ms)` : ''}`).join(' ')}${g.vip ? `  vip ${g.vip.address}${g.vip.held ? ' held here' : ''}${g.vip.problem ? ` (${g.vip.problem})` : ''}` : ''}`));
  }
  return lines.join('\n');
}

export async function runClusterCommand(cmd: string, rest: string[], io: CliIo): Promise<number> {
  if (cmd === 'upgrade') {
    const { values, positionals } = args(io, cmd, rest, { json: { type: 'boolean' } });
    if (positionals.length !== 1) throw io.usage('durun upgrade: which group? usage: durun upgrade GROUP [--json]');
    const r = await io.withClient((c) => c.request<UpgradeAnswer>('upgrade', { group: positionals[0] }), false);
    io.print(values.json ? jsonDoc(r) : `durun: ${r.group} runs afresh on node ${r.node} (the binary and policy it has), ${r.downMs} ms without service; node ${r.from} runs nothing of it now`);
    return 0;
  }
  const { values, positionals } = args(io, 'cluster', rest, { json: { type: 'boolean' } });
  if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== 'events')) throw io.usage('durun cluster: usage: durun cluster [events] [--json]');
  if (positionals[0] === 'events') {
    const r = await io.withClient((c) => c.request<{ events: ClusterEvent[] }>('cluster-events'), false);
    io.print(values.json ? jsonDoc(r) : r.events.map((e) => `${e.event.time} ${e.node} ${e.event.type}${e.event.group ? ` ${e.event.group}` : ''}: ${e.event.reason}`).join('\n'));
    return 0;
  }
  const s = await io.withClient((c) => c.request<ClusterStatus>('cluster'), false);
  io.print(values.json ? jsonDoc(s) : formatCluster(s));
  return 0;
}
