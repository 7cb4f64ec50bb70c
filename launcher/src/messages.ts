// Every text the Node CLI prints to the operator, in one place.

export const USAGE = `usage: durun [run] [options] -- CMD [ARGS...]   run CMD highly available (foreground)
       durun ps [GROUP] [--json] [--history] [--names]  groups, process trees, launch history
       durun stop GROUP                             stop a group (SIGTERM, then SIGKILL after 10 s)
       durun restart GROUP                          restart a group's programs
       durun start GROUP...                         start a stopped group again (ad-hoc: detached, as first launched)
       durun rm [--force] GROUP...                  remove finished groups (their records and logs)
       durun signal [--all] GROUP SIGNAL            deliver a signal to a group's main processes (--all: every process)
       durun save                                   remember the running ad-hoc groups (for durun resurrect)
       durun resurrect                              start the saved groups that are not running (after a reboot)
       durun logs [GROUP] [--follow] [-n LINES] [--since T] [--stream stdout|stderr] [--json]  output of detached programs
       durun status [--json]                        the supervisor of this DURUN_HOME (exit 3: none running)
       durun shutdown [--stop-all]                  stop the supervisor (programs keep running unless --stop-all)
       durun tui                                    live: groups, trees, checks, checkpoints, logs, events (? keys)
       durun daemon                                 run the supervisor in the foreground
       durun health [GROUP] [--json]                run the health checks once; exit 0 only if all pass
       durun events [--follow] [--json] [--group G] [--type T] [--since T]  the event journal
       durun stats [GROUP] [--json] [--window DUR]  availability: uptime, outages, MTBF, MTTR
       durun metrics [--window DUR]                 the same in Prometheus text format
       durun advise GROUP [--json]                  proposed check timeouts and intervals from what was observed
       durun up [-f FILE|DIR ...] [--autostart] [GROUP...]  start policy groups in dependency order
       durun down [GROUP...]                        stop groups (dependents first) in reverse order
       durun reload                                 re-read the policy files and apply the change
       durun notify --ready                         (from a program) say the group is ready
       durun service SCRIPT start|stop|restart|status  run an LSB init script as a group
       durun boot install -f FILE|DIR ... | uninstall  start autostart groups at boot
       durun checkpoint GROUP [--json] [--full]     checkpoint every process of a group behind one barrier
       durun checkpoints GROUP [--json]             a group's committed checkpoints
       durun restore GROUP [--from ID]              stop the group and bring it back from its latest (or the named) checkpoint
       durun migrate GROUP [--to NODE] [--json]     move a running group to a new instance (here, or on NODE in a cluster) with its state and live TCP connections (root)
       durun inspect IMAGE|CHECKPOINT-DIR [--json]  decode checkpoint images
       durun check [--json]                         kernel features for checkpoint/restore, what each enables or costs
       durun cluster [events] [--json]              cluster mode: nodes, master, lease, group owners and replicas (docs/cluster.md)
       durun upgrade GROUP [--json]                 cluster mode: start GROUP afresh on its next backup (new binary or policy) and hand it over
       durun ckpt put KEY [--ts N] < DATA | get KEY | rm KEY | ls | role [--wait]
                                                    the checkpoint API, from a script a group runs

run options: --group NAME, --detach, --restart on-crash|on-failure|always|never,
             --env NAME=VALUE, --env-file FILE, --cwd DIR, --user USER, --limit NAME=VALUE (e.g. nofile=4096, memory=512M, cpu=50%),
             --backoff DUR, --backoff-max DUR, --max-restarts N, --restart-window DUR
             (DUR: 500ms, 1.5s, 2m, 1h, 1d; a bare number is milliseconds)
environment: DURUN_HOME (state directory; default $XDG_STATE_HOME/durun or ~/.local/state/durun)
             DURUN_RETENTION (supervisor: how long finished foreground programs stay; default 1h, or never)
--json: one document with a "version" field (schemas in docs/schemas/); man durun for more`;

export const unknownCommand = (cmd: string) =>
  `durun: unknown command "${cmd}"; to run a program under durun use: durun -- ${cmd} (see durun --help)`;

export const needsGroup = (cmd: string) => `durun ${cmd}: which group? usage: durun ${cmd} GROUP (durun ps lists them)`;

export const badOption = (cmd: string, detail: string) => `durun ${cmd}: ${detail} (see durun --help)`;

export const noLogs = (group: string) =>
  `durun logs: group "${group}" has no captured output: only programs started with --detach write logs (foreground output goes to your terminal)`;

export const tuiNeedsTerminal =
  'durun tui: needs a terminal (its input and output are not one); scripts read durun ps --json and durun events --follow --json';
