#!/usr/bin/env node
// Runs every compiled uvu test file (dist/test/**/*.test.js) one file per
// process, so one file's leftover handles never stall another, and prints
// the totals as the one closing line CI reads: "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const testDir = path.join(root, 'dist', 'test');
const only = process.argv.slice(2);

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'helpers' ? [] : findTests(full);
    return name.endsWith('.test.js') ? [full] : [];
  });
}

let files = findTests(testDir).sort();
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
let passed = 0, failed = 0, skipped = 0, brokenFiles = [];
for (const file of files) {
  const rel = path.relative(testDir, file);
  process.stdout.write(`\n## ${rel}\n`);
  const started = Date.now();
  const res = spawnSync(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 600_000 });
  process.stdout.write(res.stdout ?? '');
  const num = (label) => Number((res.stdout ?? '').match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? NaN);
  const total = num('Total'), ok = num('Passed'), skip = num('Skipped');
  if (Number.isNaN(total) || res.status !== 0) brokenFiles.push(rel);
  if (!Number.isNaN(total)) { passed += ok; skipped += skip; failed += total - ok - skip; }
  else failed += 1;
  process.stdout.write(`(${rel}: ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${res.status ?? res.signal})\n`);
}
if (brokenFiles.length) process.stdout.write(`\nfailing files: ${brokenFiles.join(', ')}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed || brokenFiles.length ? 1 : 0);
