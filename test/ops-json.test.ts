// Issue 13: every read command answers --json with one document that carries
// a version field and fits its published schema (docs/schemas/), checked with
// ajv against the real output of a real supervisor.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempHome, removeTree } from './helpers/home.js';
import { durunAsync, durunSync, policyUp, shutdownAll, waitGroup } from './helpers/durun.js';
import { schemaNames, validJson } from './helpers/schemas.js';
import { waitFor } from './helpers/wait.js';

const home = tempHome('durun-ojson-');
const policyDir = mkdtempSync(path.join(os.tmpdir(), 'durun-ojson-pol-'));
const used = new Set<string>();

/** Runs a read command with --json, expects `code`, validates stdout against `schema`. */
function readJson(schema: string, args: string[], code = 0): Record<string, unknown> {
  const r = durunSync(home.env, [...args, '--json']);
  assert.is(r.code, code, `durun ${args.join(' ')} --json: ${r.stderr}`);
  used.add(schema);
  const doc = validJson(schema, r.stdout);
  assert.is(doc.version, 1, 'version field');
  return doc;
}

test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
  removeTree(policyDir);
});

test('status --json without a supervisor: a document saying so, exit 3, and none started', () => {
  const doc = readJson('status', ['status'], 3);
  assert.is(doc.running, false);
  assert.is(doc.home, home.dir);
  assert.is(durunSync(home.env, ['status']).code, 3, 'still none');
});

test('ps, status, events, stats, health, advise, check, checkpoints: one versioned document each, fitting its schema', async () => {
  assert.is(durunSync(home.env, ['--detach', '--group', 'web', '--', 'sleep', '600']).code, 0);
  assert.is(durunSync(home.env, ['--group', 'once', '--', 'sh', '-c', 'exit 4']).code, 4);
  policyUp(home.env, policyDir, 'hc', '[group hc]\ncommand = sleep 600\ncheck.ok.command = true\ncheck.ok.interval = 1h\n');
  await waitGroup(home.env, 'web', 'running', (g) => g.state === 'running' && g.processes.length > 0);

  const status = readJson('status', ['status']);
  assert.is(status.running, true);
  assert.is(status.groups, 3);
  const ps = readJson('ps', ['ps']) as { groups: Array<{ name: string; programs: Array<{ lastExit: { status: number } | null }> }> };
  assert.equal(ps.groups.map((g) => g.name).sort(), ['hc', 'once', 'web']);
  assert.is(ps.groups.find((g) => g.name === 'once')!.programs[0]!.lastExit?.status, 4);
  const hist = readJson('ps', ['ps', 'web', '--history']) as { groups: Array<{ history: unknown[] }> };
  assert.ok(hist.groups[0]!.history.length >= 1, 'history listed');
  const events = readJson('events', ['events']) as { events: Array<{ type: string; group: string | null }> };
  assert.ok(events.events.some((e) => e.type === 'state' && e.group === 'once'), 'the journal as one document');
  const stats = readJson('stats', ['stats']) as { groups: Array<{ group: string; service: string | null }> };
  assert.is(stats.groups.find((g) => g.group === 'web')?.service, 'up');
  readJson('stats', ['stats', 'web', '--window', '1h']);
  const health = readJson('health', ['health']) as { healthy: boolean; checks: Array<{ group: string; check: string }> };
  assert.is(health.healthy, true);
  assert.equal(health.checks.map((c) => `${c.group}/${c.check}`), ['hc/ok']);
  readJson('advise', ['advise', 'hc']);
  const check = readJson('check', ['check']) as { checks: unknown[] };
  assert.ok(check.checks.length > 0);
  const none = readJson('checkpoints', ['checkpoints', 'web']) as { group: string; checkpoints: unknown[] };
  assert.is(none.group, 'web');
});

test('events --follow --json: one versioned event document per line', async () => {
  const f = durunAsync(home.env, ['events', '--follow', '--json', '--group', 'later']);
  try {
    assert.is(durunSync(home.env, ['--group', 'later', '--', 'true']).code, 0);
    const lines = await waitFor('a followed event', () => {
      const l = f.out().split('\n').filter(Boolean);
      return l.length >= 2 ? l : undefined;
    });
    used.add('event');
    for (const l of lines) assert.is(validJson('event', l).group, 'later');
  } finally {
    f.child.kill('SIGINT');
    await f.done;
  }
});

test('rm --json fits its schema', () => {
  const doc = readJson('rm', ['rm', 'once']) as { group: string; programs: number };
  assert.is(doc.group, 'once');
  assert.is(doc.programs, 1);
});

test('every published schema is exercised here or in the test named for it', () => {
  // durun checkpoint --json needs a checkpoint (test/checkpoint.test.ts); logs: test/ops-everyday.test.ts; cluster: test/cluster-membership.test.ts.
  const elsewhere = ['checkpoint', 'logs', 'log-line', 'cluster'];
  assert.equal(schemaNames().filter((n) => !used.has(n) && !elsewhere.includes(n)).sort(), []);
});

test.run();
