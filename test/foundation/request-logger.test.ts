import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { lazyRequestLogger } from '../../src/api/request-logger.ts';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const parent = pino({ level }, sink) as unknown as FastifyBaseLogger;
  let children = 0;
  const child = parent.child.bind(parent);
  parent.child = ((b: Record<string, unknown>, o?: object) => {
    children++;
    return child(b, o);
  }) as FastifyBaseLogger['child'];
  return { parent, lines, children: () => children };
}

test('a request that logs only below the enabled level makes no child logger and writes nothing', () => {
  const { parent, lines, children } = capture('warn');
  const log = lazyRequestLogger(parent, { reqId: 'r-1' }, {});
  log.debug({ route: '/v1/orders' }, 'request');
  log.info('also below warn');
  assert.equal(log.level, 'warn');
  assert.equal(children(), 0);
  assert.equal(lines.length, 0);
});

test('a request that logs at an enabled level writes its line with its request id, from one child', () => {
  const { parent, lines, children } = capture('warn');
  const log = lazyRequestLogger(parent, { reqId: 'r-2' }, {});
  log.warn({ code: 'X' }, 'first');
  log.error('second');
  log.debug('still below');
  assert.equal(children(), 1);
  assert.deepEqual(
    lines.map((l) => [l.reqId, l.msg]),
    [
      ['r-2', 'first'],
      ['r-2', 'second'],
    ],
  );
});

test('reading the methods (as Fastify checks every request logger) makes no child logger', () => {
  const { parent, children } = capture('info');
  const log = lazyRequestLogger(parent, { reqId: 'r-3' }, {}) as unknown as Record<string, unknown>;
  for (const method of ['info', 'error', 'debug', 'fatal', 'warn', 'trace', 'child'])
    assert.equal(typeof log[method], 'function');
  assert.equal(children(), 0);
});
