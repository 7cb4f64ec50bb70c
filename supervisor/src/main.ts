// The supervisor daemon: one per user and DURUN_HOME. Takes the home's lock,
// re-adopts what a previous supervisor left, serves the control socket, and
// watches /proc. Started on demand by `durun` or in the foreground by `durun daemon`.
import path from 'node:path';
import { mkdirSync, writeFileSync, unlinkSync } from 'node:fs';
import { ensurePrivateHome, resolveHome, socketPath } from './protocol/home.js';
import { Registry } from './model/registry.js';
import { RunnerEvents } from './runner-events.js';
import { Lifecycle } from './lifecycle/machine.js';
import { ProcEvents } from './proc-events.js';
import { ClientEvents } from './client-events.js';
import { ControlServer } from './server.js';
import { HealthService } from './health/service.js';
import { supervisorActions } from './recovery/supervisor-actions.js';
import { PolicyManager } from './groups/manager.js';
import { handleGroupRequest } from './groups/requests.js';
import { liftLeftoverLocks } from './checkpoint/net-lock.js';
import { CheckpointService } from './checkpoint/service.js';
import { OpsService } from './groups/ops-service.js';
import { startRetention } from './groups/retention.js';
import { LaunchSpecs } from './groups/launch-specs.js';
import { StateService } from './state/service.js';
import { SCAN_INTERVAL_MS, adoptSurvivors, callHomeSubtree, scanOnce } from './watch.js';
import { addon } from './peercred.js';
import { diag, setDiagFile } from './diag.js';
import { fence, startCluster } from './cluster/start.js';
import type { ClusterSlot } from './cluster/requests.js';

/** Runs the supervisor until shutdown; resolves with the process exit code. */
export async function runSupervisor(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const home = resolveHome(env);
  ensurePrivateHome(home);
  setDiagFile(path.join(home, 'supervisor.log'));
  try {
    addon.lockExclusive(path.join(home, 'supervisor.lock'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EWOULDBLOCK') {
      diag('another supervisor holds supervisor.lock; exiting');
      return 0;
    }
    throw err;
  }
  const logDir = path.join(home, 'logs');
  mkdirSync(logDir, { recursive: true, mode: 0o700 });

  const registry = new Registry(path.join(home, 'state.json'));
  registry.load();
  const lifecycle = new Lifecycle(registry);
  const runners = new RunnerEvents(registry, lifecycle, logDir);
  runners.onReadopt = (runnerPid) => {
    if (server) callHomeSubtree(runnerPid, server.linkedPids(), lifecycle.runnerPids());
  };
  const procs = new ProcEvents(registry, runners);
  let server: ControlServer | null = null;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));

  const shutdown = async (stopAll: boolean) => {
    diag(`shutdown requested${stopAll ? ' (stopping all groups)' : ''}`);
    if (stopAll) {
      // Policy groups in reverse dependency order, every other group at once beside them: one after the other, 1,000 groups took minutes.
      const adHoc = [...registry.groups.values()].filter((g) => groups.spec(g.name) === null);
      await Promise.all([
        groups.stopAll().then((errors) => errors.forEach((e) => diag(`stopping: ${e}`))),
        ...adHoc.map((g) => clients.stop(g).catch((err: Error) => diag(`stopping ${g.name}: ${err.message}`))),
      ]);
    }
    await cluster.service?.close().catch((err: Error) => diag(`cluster: leaving: ${err.message}`));
    server?.close();
    health.close();
    await groups.close();
    registry.close();
    try {
      unlinkSync(socketPath(home));
    } catch {
      // already gone
    }
    finish(0);
  };
  const clients = new ClientEvents(registry, lifecycle, home, Date.now(), shutdown);
  // Events, health checks and recovery (issue 5); transitions report through registry.events.
  // Checkpoints and restore (issue 3); the recovery ladder's `restore` step uses them.
  const ckpt = new CheckpointService(registry, home, (g, kill) => clients.stop(g, kill));
  // Cluster mode (issue 10) when cluster.ini exists: the ladder's failover step hands a group to a backup node.
  const cluster: ClusterSlot = { service: null, why: 'this supervisor is not in cluster mode' };
  const health = new HealthService(home, registry, supervisorActions(registry, lifecycle, clients, ckpt.restorer, {
    failover: (g) => (cluster.service ? cluster.service.failover(g) : Promise.reject(new Error(cluster.why))),
    unavailable: (g) => (cluster.service ? cluster.service.whyNoFailover(g) : `failover to another node is not available: ${cluster.why}`),
  }));
  registry.events = health.bus;
  health.bus.emit({ type: 'supervisor-start', group: null, pid: process.pid, reason: `supervisor ${process.pid} took over ${home}` });
  const groups = new PolicyManager(registry, lifecycle, home);
  clients.groupRequests = { handle: (req) => handleGroupRequest(groups, req), status: () => groups.status() };
  procs.onReady = (group) => groups.notify(group);
  groups.onPolicy((p) => health.setPolicy(p));
  groups.onPolicy((p) => ckpt.setPolicy(p));
  const specs = new LaunchSpecs(home);
  clients.launchSpecs = specs;
  const ops = new OpsService({
    registry, home, specs, stop: (g) => clients.stop(g), policySource: (name) => groups.spec(name)?.file ?? null,
    up: (name) => handleGroupRequest(groups, { op: 'up', id: 0, groups: [name] }),
  });
  // The checkpoint API (issue 12): saves by destination, active/standby roles promoted from the bus.
  const state = new StateService(registry, home);
  groups.onPolicy((p) => state.setPolicy(p));
  health.bus.follow((e) => state.observe(e));
  clients.clusterView = () => cluster.service?.psView() ?? null;
  server = new ControlServer(socketPath(home), { registry, procs, runners, clients, health, ckpt, ops, specs, state, cluster });
  lifecycle.isLinked = (pid) => server!.linked.has(pid);
  await server.listen();
  writeFileSync(path.join(home, 'supervisor.pid'), `${process.pid}\n`, { mode: 0o600 });
  diag(`supervisor ${process.pid} listening on ${socketPath(home)}`);

  adoptSurvivors(registry, lifecycle);
  // A move interrupted by our predecessor's death must not leave its clients' connections black-holed.
  liftLeftoverLocks(home).catch((err: Error) => diag(`leftover network locks: ${err.message}`));
  groups.resume();
  startCluster(home, env, cluster, { home, registry, groups, ckpt, bus: health.bus, stop: (name) => (registry.group(name) ? clients.stop(registry.group(name)!) : Promise.resolve()), fence: (name) => fence(registry, lifecycle, name) }, lifecycle);
  const scanner = setInterval(() => {
    scanOnce(registry, lifecycle, server!.linkedPids(), {
      vanished: (group, rec) => procs.vanished(group, rec),
      zombie: (group, rec, status, signal) => procs.ended(group, rec, status, signal, true),
    });
    registry.onSettle();
  }, SCAN_INTERVAL_MS);
  const retention = startRetention(registry, env, (name) => groups.spec(name) !== null, () => specs.prune((g, id) => registry.group(g)?.programs.some((p) => p.id === id) ?? false));
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void shutdown(false));

  const code = await done;
  clearInterval(scanner);
  clearInterval(retention);
  return code;
}

// Entry point when run directly (node dist/supervisor/src/main.js).
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  runSupervisor().then(
    (code) => process.exit(code),
    (err: Error) => {
      diag(`fatal: ${err.stack ?? err.message}`);
      process.exit(1);
    },
  );
}
