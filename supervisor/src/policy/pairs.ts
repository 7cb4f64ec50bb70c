// Active/standby pairs (`standby-of`): each names a known group that is not
// itself a standby and has no other standby; `state.destination = peer`
// needs a pair. Checked over the complete set of groups, like dependencies.
import { PolicyError, msg } from './errors.js';
import type { GroupPolicy } from './types.js';

export function checkPairs(groups: readonly GroupPolicy[]): PolicyError[] {
  const byName = new Map(groups.map((g) => [g.name, g]));
  const standbyOf = new Map<string, string>();
  const errors: PolicyError[] = [];
  const at = (g: GroupPolicy, key: string, text: string) => errors.push(new PolicyError(g.file, g.keyLines[key] ?? g.line, text));
  for (const g of groups) {
    const active = g.state.standbyOf;
    if (!active) continue;
    if (active === g.name) at(g, 'standby-of', msg.selfStandby(g.name));
    else if (!byName.has(active)) at(g, 'standby-of', msg.unknownActive(g.name, active, [...byName.keys()]));
    else if (byName.get(active)!.state.standbyOf) at(g, 'standby-of', msg.standbyChain(g.name, active));
    else if (standbyOf.has(active)) at(g, 'standby-of', msg.twoStandbys(g.name, active, standbyOf.get(active)!));
    else standbyOf.set(active, g.name);
  }
  for (const g of groups) {
    // Either side of a pair may be the active one (after a promotion), so both may use peer.
    const paired = standbyOf.has(g.name) || (g.state.standbyOf !== null && standbyOf.get(g.state.standbyOf) === g.name);
    if (g.state.destination === 'peer' && !paired) at(g, 'state.destination', msg.peerWithoutStandby(g.name));
  }
  return errors;
}
