// Which module runs which sub-command. A module is loaded only when one of
// its commands runs: each costs 10-18 ms of the CLI's start-up (measured with
// a dynamic import of each on the 2-core VM), and `durun ps` or `durun status`
// needs none of them.
import type { CliIo } from './cli-io.js';

type Run = (cmd: string, rest: string[], io: CliIo) => Promise<number>;

const TABLE: ReadonlyArray<readonly [readonly string[], () => Promise<Run>]> = [
  [['up', 'down', 'reload', 'notify', 'service', 'boot'], async () => (await import('./groups-cli.js')).runGroupCommand],
  [['checkpoint', 'checkpoints', 'restore', 'migrate', 'inspect', 'check'], async () => (await import('./checkpoint-cli.js')).runCheckpointCommand],
  [['health', 'events', 'stats', 'metrics', 'advise'], async () => (await import('./health-cli.js')).runHealthCommand],
  [['rm', 'start', 'signal', 'save', 'resurrect'], async () => (await import('./ops-cli.js')).runOpsCommand],
  [['cluster', 'upgrade'], async () => (await import('./cluster-cli.js')).runClusterCommand],
  [['logs'], async () => {
    const { runLogs } = await import('./logs-cli.js');
    return (_cmd, rest, io) => runLogs(rest, io);
  }],
  [['ckpt'], async () => {
    const { runStateCommand } = await import('./state-cli.js');
    return (_cmd, rest, io) => runStateCommand(rest, io);
  }],
];

/** Runs cmd through its module; null when no module has it. */
export async function runListed(cmd: string, rest: string[], io: CliIo): Promise<number | null> {
  const entry = TABLE.find(([names]) => names.includes(cmd));
  return entry ? (await entry[1]())(cmd, rest, io) : null;
}
