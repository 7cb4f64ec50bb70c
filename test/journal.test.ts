// The event journal is bounded: past its size it rotates to events.1.jsonl
// (dropping the one before), and every reader sees both files as one history
// with no gap and no duplicate; sequence numbers go on across rotations and
// across supervisor restarts; the statistics kept in memory follow the rotations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal, readJournal, rotatedJournal } from '../supervisor/src/events/journal.js';
import { tempHome, removeTree } from './helpers/home.js';
import { durunAsync, durunSync, shutdownAll } from './helpers/durun.js';
import { isAlive, waitFor } from './helpers/wait.js';
import type { DurunEvent } from '../supervisor/src/protocol/events.js';
import { availability, type StatsReport } from '../supervisor/src/stats/availability.js';

test('rotation keeps the newest events, in order, and seq continues after reopening', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durun-journal-'));
  try {
    const file = path.join(dir, 'events.jsonl');
    let j = new Journal(file, 2000);
    for (let i = 0; i < 100; i++) j.append({ type: 'state', group: 'g', pid: i, reason: `event ${i}` });
    j.close();
    assert.ok(existsSync(rotatedJournal(file)), 'rotated');
    assert.ok(statSync(file).size <= 2000 && statSync(rotatedJournal(file)).size <= 2000, 'each file within the bound');
    const seen = readJournal(file);
    assert.is(seen.at(-1)!.seq, 100);
    assert.ok(seen.length < 100, 'older history was dropped');
    seen.forEach((e, i) => i > 0 && assert.is(e.seq, seen[i - 1]!.seq + 1, 'contiguous, no duplicate'));
    j = new Journal(file, 2000);
    assert.is(j.append({ type: 'state', group: 'g', pid: null, reason: 'after reopen' }).seq, 101);
    j.close();
  } finally {
    removeTree(dir);
  }
});

test('a supervisor with DURUN_EVENTS_MAX_BYTES rotates, and durun events reads across both files', () => {
  const home = tempHome('durun-jrot-');
  const env = { ...home.env, DURUN_EVENTS_MAX_BYTES: '3000' };
  try {
    for (let i = 0; i < 12; i++) assert.is(durunSync(env, ['--group', `g${i}`, '--', 'true']).code, 0);
    const file = path.join(home.dir, 'events.jsonl');
    assert.ok(existsSync(rotatedJournal(file)), 'the journal rotated');
    const res = durunSync(env, ['events', '--json']);
    assert.is(res.code, 0, res.stderr);
    const { events } = JSON.parse(res.stdout) as { events: DurunEvent[] };
    events.forEach((e, i) => i > 0 && assert.is(e.seq, events[i - 1]!.seq + 1, 'one history, in order'));
    assert.ok(events.some((e) => e.group === 'g11'), 'the newest events are there');
    assert.ok(statSync(file).size <= 3000);
    // The statistics the supervisor keeps in memory across its rotations are those of what the journal holds now.
    const stats = durunSync(env, ['stats', '--json']);
    assert.is(stats.code, 0, stats.stderr);
    const report = JSON.parse(stats.stdout) as StatsReport;
    const onDisk = readJournal(file);
    assert.is(report.from, onDisk[0]!.time, 'the history begins where the journal does');
    assert.equal(report.groups, availability(onDisk, Date.parse(report.from), Date.parse(report.to)).groups);
    assert.not.ok(report.groups.some((g) => g.group === 'g0'), 'a group whose events rotated out is gone from the statistics too');
  } finally {
    shutdownAll(env);
    home.cleanup();
  }
});

test('events --follow goes on across a kill -9 of the supervisor and its successor, without repeats', async () => {
  const home = tempHome('durun-jfol-');
  const follower = durunAsync(home.env, ['events', '--follow', '--json']);
  try {
    assert.is(durunSync(home.env, ['--group', 'before', '--', 'true']).code, 0);
    const seen = () => follower.out().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as DurunEvent);
    await waitFor('the follower saw the first group', () => seen().some((e) => e.group === 'before'));
    const pid = Number(readFileSync(path.join(home.dir, 'supervisor.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await waitFor('supervisor gone', () => !isAlive(pid));
    // The next durun command starts the next supervisor; the follower must find it.
    const after = durunSync(home.env, ['--group', 'after', '--', 'true']);
    assert.is(after.code, 0, after.stderr);
    await waitFor('the follower saw the group started after the restart', () => seen().some((e) => e.group === 'after'), 15_000);
    const seqs = seen().map((e) => e.seq);
    assert.equal(seqs, [...seqs].sort((a, b) => a - b), 'in order');
    assert.is(new Set(seqs).size, seqs.length, 'nothing printed twice');
    assert.is(follower.child.exitCode, null, 'still following');
  } finally {
    follower.child.kill('SIGINT');
    shutdownAll(home.env);
    home.cleanup();
  }
});

test.run();
