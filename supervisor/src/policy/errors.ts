// Policy errors: each names the file, the line and (when there is one) the
// key, and says what to write instead. Every message text lives here.
import { DURATION_HINT, formatDuration } from '../protocol/duration.js';

export class PolicyError {
  constructor(readonly file: string, readonly line: number, readonly message: string) {}
  toString(): string {
    return this.line > 0 ? `${this.file}:${this.line}: ${this.message}` : `${this.file}: ${this.message}`;
  }
  /** From a "file:line: message" string, the form health/policy-keys.ts reports in. */
  static parse(text: string): PolicyError {
    const m = /^(.*?):(\d+): (.*)$/s.exec(text);
    return m ? new PolicyError(m[1]!, Number(m[2]), m[3]!) : new PolicyError('?', 0, text);
  }
}

/** All errors of a load as one block, one per line, for `durun up`, `reload` and `status`. */
export function formatErrors(errors: readonly PolicyError[]): string {
  return errors.map(String).join('\n');
}

export const msg = {
  noSection: (key: string) => `key "${key}" is outside any section; put it below a [group NAME] line`,
  noEquals: (text: string) => `"${text}" is neither a [section] line nor KEY = VALUE`,
  badSectionKind: (name: string) => `[${name}]: sections are [group NAME] or [supervisor]`,
  badSection: (name: string) => `[group ${name}]: a group name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
  unknownSupervisorKey: (key: string) => `unknown key "${key}" in [supervisor]; keys there are metrics.listen, on_event, on_event.timeout`,
  duplicateSupervisor: (where: string) => `[supervisor] is already defined at ${where}; keep one`,
  listSyntax: (key: string) => `${key}: "KEY[] =" lists are not supported; write one comma-separated value`,
  duplicateKey: (key: string, line: number) => `${key}: already set at line ${line}; keep one`,
  duplicateGroup: (name: string, where: string) => `[group ${name}] is already defined at ${where}; group names are unique across all policy files`,
  unknownKey: (key: string, group: string, hint: string | null) =>
    `unknown key "${key}" in [group ${group}]${hint ? ` (did you mean "${hint}"?)` : ''}; docs/policy.md lists every key`,
  noValue: (key: string) => `${key}: needs a value`,
  needsCommand: (group: string) => `[group ${group}] needs "command" or "init_script"`,
  bothCommands: (group: string) => `[group ${group}]: set "command" or "init_script", not both`,
  badLimit: (key: string, value: string, expected: string) => `${key}: "${value}" is not valid; write ${expected}`,
  badDuration: (key: string, value: string) => `${key}: "${value}" is not a duration; ${DURATION_HINT}`,
  tooShort: (key: string, min: number) => `${key}: must be at least ${formatDuration(min)}`,
  badInt: (key: string, value: string) => `${key}: "${value}" is not a whole number >= 0`,
  badBool: (key: string, value: string) => `${key}: "${value}" is not yes/no (or true/false, on/off)`,
  badChoice: (key: string, value: string, choices: readonly string[]) => `${key}: "${value}" is not one of ${choices.join(', ')}`,
  badWords: (key: string, why: string) => `${key}: the command ${why}`,
  badPath: (key: string, value: string) => `${key}: "${value}" must be a path (absolute, or relative to the policy file)`,
  badEnvName: (key: string) => `${key}: environment variable names are letters, digits and '_', not starting with a digit`,
  badUser: (value: string) => `user: "${value}" is not a user name or numeric uid`,
  readyNeedsCheck: (group: string) => `ready: "health" needs at least one check in [group ${group}] (check.NAME.command, .tcp or .http)`,
  badSignal: (value: string) => `stop_signal: "${value}" is not a signal; write e.g. SIGTERM, TERM or 15`,
  badReady: (value: string) => `ready: "${value}" is not a readiness condition; write started, notify, health, tcp:PORT, tcp:HOST:PORT or delay:DURATION`,
  badGroupName: (key: string, name: string) => `${key}: "${name}" is not a group name`,
  badNodeName: (key: string, name: string) => `${key}: "${name}" is not a node name (the node = of a cluster.ini: letters, digits, . _ -)`,
  badVip: (key: string, value: string) => `${key}: "${value}" is not an IPv4 address with its prefix length; write e.g. 10.0.0.100/24`,
  badIface: (key: string, value: string) => `${key}: "${value}" is not a network interface name (ip link lists them)`,
  vipPair: (group: string) => `[group ${group}] needs both vip = ADDRESS/PREFIX and vip.dev = IFACE (the interface the address goes on)`,
  vipNeedsNodes: (group: string) => `vip: [group ${group}] has a virtual IP but no nodes =; a virtual IP moves between the nodes a group is placed on (cluster mode)`,
  repeatedNode: (key: string, value: string) => `${key}: "${value}" names a node twice; list the primary first, then each backup once`,
  unknownDep: (group: string, dep: string, known: string[]) => `depends: [group ${group}] depends on unknown group "${dep}"; known groups: ${known.join(', ') || 'none'}`,
  selfDep: (group: string) => `depends: [group ${group}] depends on itself`,
  cycle: (names: string[]) => `depends: dependency cycle ${names.join(' -> ')}; remove one of these dependencies`,
  unknownActive: (group: string, active: string, known: string[]) => `standby-of: [group ${group}] stands by for unknown group "${active}"; known groups: ${known.join(', ') || 'none'}`,
  selfStandby: (group: string) => `standby-of: [group ${group}] cannot stand by for itself`,
  standbyChain: (group: string, active: string) => `standby-of: [group ${group}] stands by for ${active}, which is itself a standby; a pair is one active and one standby`,
  twoStandbys: (group: string, active: string, other: string) => `standby-of: [group ${group}] stands by for ${active}, which already has the standby ${other}; a pair is one active and one standby`,
  peerWithoutStandby: (group: string) => `state.destination: "peer" sends [group ${group}]'s saves to its standby, and it has none; add a group with standby-of = ${group}, or use memory or disk`,
  noFiles: () => `no policy files (*.ini) in this directory`,
};
