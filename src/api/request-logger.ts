/**
 * Each request's logger (`request.log`, with its request id), made only when the request logs at
 * a level that is enabled. Fastify otherwise makes a pino child for every request, and pino runs
 * the redaction over the child's bindings as it makes it: on sale day that was a visible share of
 * the API's CPU for a logger that, at `warn`, almost no request uses.
 */
import type { FastifyBaseLogger } from 'fastify';

type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];

type Bindings = Record<string, unknown>;
const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = () => {};

export function lazyRequestLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildOptions,
): FastifyBaseLogger {
  let child: FastifyBaseLogger | undefined;
  const real = () => {
    child ??= parent.child(bindings, options);
    return child;
  };
  const enabled = (level: string) =>
    (parent as FastifyBaseLogger & { isLevelEnabled?(l: string): boolean }).isLevelEnabled?.(level) ?? true;
  const call =
    (method: string) =>
    (...args: unknown[]): unknown =>
      (real() as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!(...args);
  return new Proxy({} as FastifyBaseLogger, {
    get(_target, prop) {
      // Fastify checks every request's logger by reading each method, `child` included: reading
      // one must not make the child (that undid this laziness: 4 % of a decision's API CPU), so
      // until something logs, the methods are noops or make the child when called.
      if (typeof prop === 'string' && LEVELS.has(prop) && !child) return enabled(prop) ? call(prop) : noop;
      if (prop === 'child' && !child) return call('child');
      if (prop === 'level' && !child) return parent.level;
      const logger = real() as unknown as Record<string | symbol, unknown>;
      const value = logger[prop];
      return typeof value === 'function' ? value.bind(logger) : value;
    },
    set(_target, prop, value) {
      (real() as unknown as Record<string | symbol, unknown>)[prop] = value;
      return true;
    },
  });
}
