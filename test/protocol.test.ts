// Wire protocol v1 parsing: what is accepted, and the exact errors for what is not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProtocolError, parseClientRequest, parseHello, parseLine, parseProcMessage, parseRunnerMessage } from '../supervisor/src/protocol/messages.js';
import { LineSplitter } from '../supervisor/src/protocol/lines.js';

const err = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ProtocolError);
    return (e as Error).message;
  }
  throw new Error('expected a ProtocolError');
};

test('version and shape are checked first', () => {
  assert.is(err(() => parseLine('not json')), 'message is not valid JSON');
  assert.is(err(() => parseLine('[1]')), 'message must be a JSON object');
  assert.is(err(() => parseLine('{"v":2,"op":"hello"}')), 'unsupported protocol version 2 (this supervisor speaks 1)');
  assert.is(err(() => parseLine('{"v":1}')), 'message has no "op"');
});

test('hello by role', () => {
  const proc = parseHello(parseLine(JSON.stringify({
    v: 1, op: 'hello', role: 'proc', pid: 5, ppid: 1, group: 'g', program: 1, instance: 1, execCount: 0,
    exe: '/bin/sh', argv: ['sh'], cwd: '/', reason: 'fork', startedAt: 1,
  })));
  assert.is(proc.role, 'proc');
  assert.is(err(() => parseHello({ op: 'exec' })), 'first message must be "hello", got "exec"');
  assert.is(err(() => parseHello({ op: 'hello', role: 'martian' })), 'hello: unknown role "martian"');
  assert.is(err(() => parseHello({ op: 'hello', role: 'runner', restart: 'sometimes' })), 'hello: restart must be one of on-crash, on-failure, always, never');
  assert.is(err(() => parseHello({ op: 'hello', role: 'proc', reason: 'load', pid: '5' })), 'op "hello": field "pid" must be a number');
});

test('proc and runner messages', () => {
  assert.equal(parseProcMessage({ op: 'reaped', pid: 1, child: 2, signal: 9 }), { op: 'reaped', pid: 1, child: 2, status: undefined, signal: 9 });
  assert.is(err(() => parseProcMessage({ op: 'exec', pid: 1, path: '/x', argv: [1] })), 'op "exec": field "argv" must be an array of strings');
  assert.is(err(() => parseProcMessage({ op: 'teleport', pid: 1 })), 'unknown op "teleport" for a process link');
  assert.equal(parseRunnerMessage({ op: 'instance-end', instance: 2, status: 0 }), { op: 'instance-end', instance: 2, status: 0, signal: undefined });
});

test('the live view\'s requests: health without running checks, the newest N events', () => {
  assert.equal(parseClientRequest({ op: 'health', id: 1, cached: true }), { op: 'health', id: 1, group: undefined, cached: true });
  assert.is(err(() => parseClientRequest({ op: 'health', id: 1, cached: 'yes' })), 'op "health": field "cached" must be a boolean');
  assert.is((parseClientRequest({ op: 'events', id: 2, follow: true, last: 300 }) as { last?: number }).last, 300);
  assert.is(err(() => parseClientRequest({ op: 'events', id: 2, last: 0 })), 'events: last must be positive');
});

test('line splitter frames lines across chunks and caps their length', () => {
  const lines: string[] = [];
  let overflow = 0;
  const s = new LineSplitter((l) => lines.push(l), () => overflow++);
  s.push('{"a":');
  s.push('1}\n{"b":2}\n\n{"c"');
  assert.equal(lines, ['{"a":1}', '{"b":2}']);
  s.push('x'.repeat(70_000));
  assert.is(overflow, 1);
});

test.run();
