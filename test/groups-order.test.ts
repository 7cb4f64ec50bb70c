// Issue 4: dependency-ordered start and stop of policy groups, readiness,
// parallel start of independent groups, cycles, start-timeout rollback.
// Programs write their own start/stop timestamps (test/fixtures/groups/stamp.sh).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { durunAsync, durunSync, group, ps } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';
import { at, order, readyGroup, stampGroup, stamps, workspace } from './helpers/stamps.js';

const { home, dir, cleanup } = workspace('durun-pol-');
test.after(cleanup);

function policy(name: string, text: string): string {
  const file = path.join(dir, `${name}.ini`);
  writeFileSync(file, text);
  return file;
}

test('chain a -> b -> c: starts in dependency order, stops in reverse', () => {
  const log = path.join(dir, 'chain.log');
  const file = policy('chain', readyGroup('ca', log) + readyGroup('cb', log, ['depends = ca']) + readyGroup('cc', log, ['depends = cb']));
  const up = durunSync(home.env, ['up', '-f', file]);
  assert.is(up.code, 0, up.stderr);
  assert.equal(order(log, 'start'), ['ca', 'cb', 'cc']);
  const down = durunSync(home.env, ['down', 'ca', 'cb', 'cc']);
  assert.is(down.code, 0, down.stderr);
  assert.equal(order(log, 'stop'), ['cc', 'cb', 'ca']);
  assert.ok(stamps(log).filter((s) => s.event === 'stop').every((s) => s.extra === 'TERM'), 'stopped by the default stop signal');
});

test('diamond: the base first, both sides before the top; down base stops its dependents first', () => {
  const log = path.join(dir, 'diamond.log');
  const file = policy('diamond', readyGroup('dbase', log) + readyGroup('dleft', log, ['depends = dbase']) +
    readyGroup('dright', log, ['depends = dbase']) + readyGroup('dtop', log, ['depends = dleft, dright']));
  assert.is(durunSync(home.env, ['up', '-f', file, 'dtop']).code, 0);
  const start = order(log, 'start');
  assert.is(start[0], 'dbase');
  assert.is(start[3], 'dtop');
  assert.equal(start.slice(1, 3).sort(), ['dleft', 'dright']);
  // `down dbase` takes every group that depends on it down first.
  const down = durunSync(home.env, ['down', 'dbase']);
  assert.is(down.code, 0, down.stderr);
  const stop = order(log, 'stop');
  assert.is(stop[0], 'dtop');
  assert.is(stop[3], 'dbase');
  assert.equal(stop.slice(1, 3).sort(), ['dleft', 'dright']);
});

test('two independent groups are both started before either is ready', async () => {
  const log = path.join(dir, 'par.log');
  const file = policy('par', stampGroup('pone', log, ['ready = notify'], 'notify') + stampGroup('ptwo', log, ['ready = notify'], 'notify') +
    stampGroup('pafter', log, ['depends = pone, ptwo']));
  const up = durunAsync(home.env, ['up', '-f', file]);
  await waitFor('both started', () => order(log, 'start').length === 2, 15_000);
  assert.equal(order(log, 'start').sort(), ['pone', 'ptwo']);
  writeFileSync(`${log}.go.pone`, '');
  // One ready is not enough for their dependent.
  await waitFor('pone notified', () => group(home.env, 'pone')?.state === 'running');
  assert.is(at(log, 'start', 'pafter'), undefined);
  writeFileSync(`${log}.go.ptwo`, '');
  const res = await up.done;
  assert.is(res.code, 0, res.stderr);
  await waitFor('pafter started', () => at(log, 'start', 'pafter'));
  assert.is(order(log, 'start')[2], 'pafter');
  assert.is(durunSync(home.env, ['down', 'pone', 'ptwo']).code, 0);
});

test('a cycle is rejected before anything starts, naming the cycle', () => {
  const log = path.join(dir, 'cycle.log');
  const file = policy('cycle', stampGroup('ya', log, ['depends = yc']) + stampGroup('yb', log, ['depends = ya']) + stampGroup('yc', log, ['depends = yb']));
  const before = ps(home.env).groups.map((g) => g.name);
  const res = durunSync(home.env, ['up', '-f', file]);
  assert.is(res.code, 1);
  assert.match(res.stderr, `${file}:4: depends: dependency cycle ya -> yc -> yb -> ya; remove one of these dependencies`);
  assert.match(res.stderr, 'nothing started');
  assert.equal(stamps(log), []);
  assert.equal(ps(home.env).groups.map((g) => g.name), before);
});

test('start timeout: the group fails, what was started for it is rolled back, the rest stays', () => {
  const log = path.join(dir, 'timeout.log');
  const file = policy('timeout', stampGroup('ta', log) + stampGroup('tb', log, ['depends = ta', 'ready = notify', 'start_timeout = 1s']) +
    stampGroup('tc', log, ['depends = tb']) + stampGroup('tfree', log));
  const res = durunSync(home.env, ['up', '-f', file]);
  assert.is(res.code, 1);
  assert.match(res.stderr, 'group tb did not become ready within 1s (ready = notify)');
  assert.match(res.stderr, 'rolled back (stopped): tb, ta');
  assert.match(res.stderr, 'not started (a dependency failed): tc');
  assert.match(res.stderr, 'still running: tfree');
  assert.is(at(log, 'start', 'tc'), undefined, 'the dependent never started');
  assert.ok(at(log, 'stop', 'ta') && at(log, 'stop', 'tb'), 'both rolled back');
  assert.ok(at(log, 'stop', 'tb')! < at(log, 'stop', 'ta')!, 'rolled back in reverse order');
  assert.is(group(home.env, 'tfree')?.state, 'running');
  assert.is(group(home.env, 'ta')?.state, 'stopped');
  assert.is(group(home.env, 'tb')?.state, 'stopped');
});

test.run();
