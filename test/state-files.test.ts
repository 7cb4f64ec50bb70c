// Issue 12, files: a file the group has open for writing, and the directories
// its policy names (checkpoint.files), roll back with the processes. Copy
// path (this filesystem, or forced with DURUN_FAULT=supervisor:no-ficlone),
// FICLONE path (an XFS loop mount, as root), append and block deltas chained
// onto the previous checkpoint, a file deleted after the checkpoint rebuilt
// from its chain, and copies kept secret.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './helpers/paths.js';
import { removeTree, tempHome } from './helpers/home.js';
import { policyUp, shutdownAll } from './helpers/durun.js';
import { waitFor } from './helpers/wait.js';
import { checkpoint, durun, durunOk, killAll, runningPids, rootWorkspace, type As } from './helpers/checkpoint.js';
import type { Manifest } from '../supervisor/src/checkpoint/manifest.js';

const FIX = path.join(ROOT, 'test', 'fixtures', 'state');
const { as, bin, cleanup } = rootWorkspace('durun-stf');
test.after(cleanup);

function build(name: string): string {
  const out = path.join(bin, name);
  execFileSync('gcc', ['-O2', '-Wall', '-o', out, path.join(FIX, `${name}.c`)]);
  return out;
}
const APPENDER = build('appender');
const REWRITER = build('rewriter');

/** The numbers of an appender's file, one per line. */
const lines = (file: string): number[] => readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
const count = (file: string) => (existsSync(file) ? lines(file).length : 0);
const manifestOf = (dir: string): Manifest => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;

/** Each number once, in order, from 1. */
function assertSequence(file: string, what: string): number[] {
  const l = lines(file);
  const bad = l.findIndex((n, i) => n !== i + 1);
  assert.ok(bad < 0, `${what}: line ${bad + 1} holds ${l[bad]} (lines ${l.slice(Math.max(0, bad - 2), bad + 3).join(',')}): written twice or lost`);
  return l;
}

/**
 * The scenario of the issue: checkpoint, run on, checkpoint again
 * (chained), run on, kill, restore. Returns the two checkpoints' manifests.
 */
async function appendCycle(a: As, group: string, file: string, opts: { deleteBeforeRestore?: boolean } = {}): Promise<Manifest[]> {
  durunOk(a, ['run', '--detach', '--group', group, '--restart', 'never', '--', APPENDER, file, '5']);
  await waitFor('first lines', () => count(file) >= 20, 10_000);
  const c1 = checkpoint(a, group);
  const n1 = count(file);
  await waitFor('more lines', () => count(file) >= n1 + 30, 10_000);
  const c2 = checkpoint(a, group);
  const atCkpt = count(file);
  await waitFor('lines after the checkpoint', () => count(file) >= atCkpt + 50, 10_000);
  await killAll(a, group);
  const written = count(file);
  if (opts.deleteBeforeRestore) rmSync(file);
  durunOk(a, ['restore', group]);
  await waitFor('lines after the restore', () => count(file) >= written + 20, 15_000);
  const l = assertSequence(file, 'after restore');
  assert.ok(l.length > written, 'the restored program goes on writing');
  await killAll(a, group);
  return [manifestOf(c1.dir), manifestOf(c2.dir)];
}

test('copy path: an append-only file rolls back to the checkpoint; the second copy holds only what grew, chained onto the first', async () => {
  const env = { ...as.env, DURUN_FAULT: 'supervisor:no-ficlone' };
  const a: As = { ...as, env };
  shutdownAll(as.env); // the supervisor starts again with the fault set
  const file = path.join(bin, 'copy.lines');
  const [m1, m2] = await appendCycle(a, 'cp', file);
  const e1 = m1!.files!.find((e) => e.path === file)!;
  const e2 = m2!.files!.find((e) => e.path === file)!;
  assert.is(e1.how, 'copy');
  assert.ok(e1.appendOnly);
  assert.is(e2.how, 'append');
  assert.is(e2.base, m1!.id);
  assert.is(m2!.parent, m1!.id, 'the second checkpoint chains onto the first, so pruning keeps it');
  assert.equal(e2.extents, [[e1.size, e2.size - e1.size]]);
  assert.is(statSync(e2.data).size, e2.size - e1.size);
  for (const f of [e1.data, e2.data]) assert.is(statSync(f).mode & 0o777, 0o600, `${f} is private`);
  assert.is(statSync(path.dirname(e1.data)).mode & 0o777, 0o700);
  shutdownAll(env);
});

test('a file deleted after the checkpoint is rebuilt from its chain of copies', async () => {
  const file = path.join(bin, 'gone.lines');
  await appendCycle(as, 'gone', file, { deleteBeforeRestore: true });
});

test('a file written in place (not append): the later copy holds the changed blocks; the restore brings back the checkpoint\'s content', async () => {
  const file = path.join(bin, 'rewrite.dat');
  durunOk(as, ['run', '--detach', '--group', 'rw', '--restart', 'never', '--', REWRITER, file, '2', '50']);
  const header = () => (existsSync(file) && statSync(file).size >= 8 ? Number(readFileSync(file).readBigUInt64LE(0)) : 0);
  // Eight 64 KiB blocks, of which only the first (the header) and the last change between the checkpoints.
  await waitFor('file of eight blocks', () => header() > 64_000, 30_000);
  const c1 = checkpoint(as, 'rw');
  const h1 = header();
  await waitFor('more records', () => header() > h1 + 50, 10_000);
  const c2 = checkpoint(as, 'rw');
  const e2 = manifestOf(c2.dir).files!.find((e) => e.path === file)!;
  const copy = readFileSync(e2.data);
  assert.is(manifestOf(c1.dir).files!.find((e) => e.path === file)!.how, 'copy');
  assert.is(e2.how, 'blocks');
  assert.ok(copy.length < e2.size / 2, `the delta (${copy.length} bytes) is the changed blocks, not the ${e2.size}-byte file`);
  await waitFor('records after the checkpoint', () => header() > Math.floor(e2.size / 8) + 1000, 10_000);
  await killAll(as, 'rw');
  const atCkpt = Math.floor(e2.size / 8) - 1; // records 1..N at offsets 8..N*8
  durunOk(as, ['restore', 'rw']);
  // The restored program writes N+1, N+2...: every record is its own index, and none past what it has written since.
  await waitFor('the restored program writes on', () => header() > atCkpt + 200, 15_000);
  await killAll(as, 'rw');
  const buf = readFileSync(file);
  const h = Number(buf.readBigUInt64LE(0));
  // (killed between a record and its header: one record past the header)
  assert.ok(buf.length === (h + 1) * 8 || buf.length === (h + 2) * 8, `${buf.length / 8 - 1} records with the header at ${h}: records beyond what the restored program wrote`);
  for (let n = 1; n < buf.length / 8; n++) assert.is(Number(buf.readBigUInt64LE(n * 8)), n, `record ${n}`);
});

test('checkpoint.files: the named directory comes back as it was (files, subdirectories, symlinks; what appeared since is gone)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durun-stdir-'));
  const data = path.join(dir, 'data');
  mkdirSync(path.join(data, 'sub'), { recursive: true });
  writeFileSync(path.join(data, 'sub', 'conf'), 'original\n');
  symlinkSync('sub/conf', path.join(data, 'link'));
  execFileSync('mkfifo', [path.join(data, 'fifo')]);
  try {
    policyUp(as.env, dir, 'tree', `[group tree]\ncommand = /usr/bin/python3 ${path.join(FIX, 'treewriter.py')} ${data} 20\nrestart = never\ncheckpoint.files = data\n`);
    const state = () => { try { return Number(readFileSync(path.join(data, 'state'), 'utf8')); } catch { return 0; } };
    await waitFor('first files', () => state() >= 10, 10_000);
    const cp = checkpoint(as, 'tree');
    const m = manifestOf(cp.dir);
    const atCkpt = Number(readFileSync(m.files!.find((e) => e.path === path.join(data, 'state'))!.data, 'utf8'));
    assert.ok(m.trees!.some((t) => t.root === data), 'the directory is in the checkpoint');
    await waitFor('files after the checkpoint', () => state() >= atCkpt + 60, 10_000);
    // Changes of our own after the checkpoint: all undone by the restore.
    writeFileSync(path.join(data, 'sub', 'conf'), 'changed\n');
    rmSync(path.join(data, 'link'));
    mkdirSync(path.join(data, 'extra'));
    await killAll(as, 'tree');
    durunOk(as, ['restore', 'tree']);
    const now = state();
    assert.ok(now < atCkpt + 60, `state ${now} is from before the kill, not the checkpoint's ${atCkpt}`);
    const made = readdirSync(data).filter((n) => /^f\d+$/.test(n)).map((n) => Number(n.slice(1)));
    assert.ok(Math.max(...made) <= now + 1, `files up to f${Math.max(...made)} exist while the program is at ${now}: the later ones were not removed`);
    assert.is(made.length, Math.max(...made), 'f1..fN, none missing');
    assert.is(readFileSync(path.join(data, 'sub', 'conf'), 'utf8'), 'original\n');
    assert.is(readlinkSync(path.join(data, 'link')), 'sub/conf');
    assert.not.ok(existsSync(path.join(data, 'extra')));
    assert.ok(lstatSync(path.join(data, 'fifo')).isFIFO(), 'a fifo is not content: left as it is');
    await waitFor('the restored program goes on', () => state() > now + 5, 10_000);
    await killAll(as, 'tree');
  } finally {
    removeTree(dir);
  }
});

test('FICLONE path: on a filesystem that clones (XFS loop mount), the copy is a clone and the file rolls back', async () => {
  if (process.getuid!() !== 0) {
    console.log('  skipped: mounting an XFS image needs root');
    return;
  }
  const mnt = mkdtempSync(path.join(os.tmpdir(), 'durun-xfs-'));
  const img = `${mnt}.img`;
  writeFileSync(img, '');
  execFileSync('truncate', ['-s', '320M', img]);
  execFileSync('mkfs.xfs', ['-q', img]); // xfsprogs: installed by .ci/run
  execFileSync('mount', ['-o', 'loop', img, mnt]);
  // DURUN_HOME (and so the checkpoints) on the same XFS as the file.
  const home = path.join(mnt, 'home');
  mkdirSync(home, { mode: 0o700 });
  const a: As = { env: { ...as.env, DURUN_HOME: home }, home, wrap: (c) => c };
  try {
    const file = path.join(mnt, 'clone.lines');
    const [m1, m2] = await appendCycle(a, 'cl', file);
    for (const m of [m1!, m2!]) {
      const e = m.files!.find((x) => x.path === file)!;
      assert.is(e.how, 'clone');
      assert.is(statSync(e.data).mode & 0o777, 0o600);
    }
  } finally {
    shutdownAll(a.env);
    execFileSync('umount', ['-l', mnt]);
    rmSync(img, { force: true });
    removeTree(mnt);
  }
});

test('copies chain and are pruned with the images (checkpoint.keep = 2): the latest checkpoint still restores its file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durun-stkeep-'));
  const file = path.join(dir, 'keep.lines');
  try {
    policyUp(as.env, dir, 'keep', `[group keep]\ncommand = ${APPENDER} ${file} 5\nrestart = never\ncheckpoint.keep = 2\n`);
    const ids: string[] = [];
    const manifests: Manifest[] = [];
    for (let i = 0; i < 5; i++) {
      const n = count(file);
      await waitFor('more lines', () => count(file) >= n + 10, 10_000);
      const cp = checkpoint(as, 'keep');
      ids.push(cp.id);
      manifests.push(manifestOf(cp.dir));
    }
    const kept = (JSON.parse(durunOk(as, ['checkpoints', 'keep', '--json'])) as { checkpoints: Array<{ id: string }> }).checkpoints.map((c) => c.id);
    assert.ok(kept.length < ids.length, `pruned: ${kept.length} of ${ids.length} kept`);
    assert.is(kept[kept.length - 1], ids[ids.length - 1]);
    // Every kept checkpoint's file chain is whole: each base it names is kept too.
    for (const m of manifests.filter((x) => kept.includes(x.id))) {
      const e = m.files!.find((x) => x.path === file)!;
      if (e.base) assert.ok(kept.includes(e.base), `${m.id} builds on ${e.base}, which must be kept`);
    }
    assert.ok(manifests.some((m) => m.files!.find((x) => x.path === file)!.how === 'append'), 'some copies are deltas');
    const atCkpt = count(file);
    await waitFor('lines after', () => count(file) >= atCkpt + 20, 10_000);
    await killAll(as, 'keep');
    durunOk(as, ['restore', 'keep']);
    await waitFor('lines after the restore', () => count(file) >= atCkpt + 40, 15_000);
    assertSequence(file, 'restored from a pruned chain');
    await killAll(as, 'keep');
  } finally {
    removeTree(dir);
  }
});

test('a file capture that fails half-way aborts that checkpoint only: the previous one stays the latest, whole, and restores', async () => {
  const h = tempHome('durun-stff-');
  const a: As = { env: { ...h.env, DURUN_FAULT: 'supervisor:files-fail@2' }, home: h.dir, wrap: (c) => c };
  const file = path.join(bin, 'half.lines');
  const other = path.join(bin, 'half2.lines');
  try {
    // Two files, so the second checkpoint fails with one copy written.
    durunOk(a, ['run', '--detach', '--group', 'half', '--restart', 'never', '--', APPENDER, file, '5']);
    durunOk(a, ['run', '--detach', '--group', 'half', '--restart', 'never', '--', APPENDER, other, '5']);
    await waitFor('lines', () => count(file) >= 10 && count(other) >= 10, 10_000);
    const c1 = checkpoint(a, 'half');
    const n1 = manifestOf(c1.dir).files!.find((e) => e.path === file)!.size;
    await waitFor('more lines', () => count(file) >= 40, 10_000);
    const r = durun(a, ['checkpoint', 'half']);
    assert.is.not(r.code, 0);
    assert.match(r.stderr + r.stdout, /aborted \(the previous checkpoint stays the latest\): fault injection: file capture fails/, r.stderr + r.stdout);
    const listed = JSON.parse(durunOk(a, ['checkpoints', 'half', '--json'])) as { checkpoints: Array<{ id: string }> };
    assert.equal(listed.checkpoints.map((c) => c.id), [c1.id]);
    assert.equal(readdirSync(path.dirname(c1.dir)), [path.basename(c1.dir)], 'the aborted checkpoint left nothing behind');
    await killAll(a, 'half');
    durunOk(a, ['restore', 'half']);
    const l = assertSequence(file, 'restored from the first checkpoint');
    assert.ok(l.length >= n1 / 3, 'rolled back to the first checkpoint, then on');
    await killAll(a, 'half');
  } finally {
    shutdownAll(a.env);
    h.cleanup();
  }
});

test('files outside the group, the supervisor\'s own state and deleted files are not captured', async () => {
  const file = path.join(bin, 'plain.lines');
  durunOk(as, ['run', '--detach', '--group', 'own', '--restart', 'never', '--', APPENDER, file, '5']);
  await waitFor('lines', () => count(file) >= 5, 10_000);
  const m = manifestOf(checkpoint(as, 'own').dir);
  assert.equal(m.files!.map((e) => e.path), [file]);
  assert.is(runningPids(as, 'own').length, 1);
  await killAll(as, 'own');
});

test.run();
