// `durun ps [GROUP] [--history] --json` is answered by the C executable
// itself (launcher/c/client.c), without starting Node: the same document the
// Node CLI prints, fitting docs/schemas/ps.schema.json. A Node that cannot
// start (DURUN_NODE naming nothing) proves which of the two answered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { durunSync, shutdownAll, waitGroup } from './helpers/durun.js';
import { tempHome } from './helpers/home.js';
import { ROOT } from './helpers/paths.js';
import { validJson } from './helpers/schemas.js';

const home = tempHome('durun-fast-');
const NODE_CLI = path.join(ROOT, 'dist', 'launcher', 'src', 'cli.js');
test.after(() => {
  shutdownAll(home.env);
  home.cleanup();
});

/** The document without the CPU and memory samples, which each request takes anew. */
function stable(doc: unknown): unknown {
  if (Array.isArray(doc)) return doc.map(stable);
  if (doc && typeof doc === 'object') {
    return Object.fromEntries(Object.entries(doc).filter(([k]) => !/cpu|rss/i.test(k)).map(([k, v]) => [k, stable(v)]));
  }
  return doc;
}

test('ps --json from the C executable is the Node CLI\'s document, without Node', async () => {
  for (const g of ['fa', 'fb']) assert.is(durunSync(home.env, ['--detach', '--group', g, '--', 'sleep', '300']).code, 0);
  await waitGroup(home.env, 'fb', 'running', (g) => g.state === 'running');
  const noNode = { ...home.env, DURUN_NODE: '/nonexistent/node' };
  for (const args of [['ps', '--json'], ['ps', 'fa', '--history', '--json']]) {
    const fast = durunSync(noNode, args);
    assert.is(fast.code, 0, `durun ${args.join(' ')} without a usable Node: ${fast.stderr}`);
    const c = validJson('ps', fast.stdout);
    const n = validJson('ps', execFileSync(process.execPath, [NODE_CLI, ...args], { env: home.env, encoding: 'utf8' }));
    assert.equal(stable(c), stable(n), `durun ${args.join(' ')}: the C and Node documents differ`);
  }
  const bad = durunSync(noNode, ['ps', 'nosuch', '--json']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /unknown group "nosuch"/);
  // Anything else still goes to the Node CLI.
  const text = durunSync(noNode, ['ps']);
  assert.is.not(text.code, 0);
  assert.match(text.stderr, /DURUN_NODE=\/nonexistent\/node/);
});

test.run();
