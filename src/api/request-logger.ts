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

/**
 * One request's logger state. The proxy's handler is shared by every request (one object per
 * request, not a set of closures: this runs for every request whether it logs or not).
 */
class LazyChild {
  child: FastifyBaseLogger | undefined;

  constructor(
    readonly parent: FastifyBaseLogger,
    readonly bindings: Bindings,
    readonly options: ChildOptions,
  ) {}

  real(): FastifyBaseLogger {
    this.child ??= this.parent.child(this.bindings, this.options);
    return this.child;
  }

  enabled(level: string): boolean {
    const parent = this.parent as FastifyBaseLogger & { isLevelEnabled?(l: string): boolean };
    return parent.isLevelEnabled?.(level) ?? true;
  }

  call(method: string) {
    return (...args: unknown[]): unknown =>
      (this.real() as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!(...args);
  }
}

const handler: ProxyHandler<LazyChild> = {
  get(lazy, prop) {
    // Fastify checks every request's logger by reading each method, `child` included: reading
    // one must not make the child (that undid this laziness: 4 % of a decision's API CPU), so
    // until something logs, the methods are noops or make the child when called.
    if (!lazy.child) {
      if (typeof prop === 'string' && LEVELS.has(prop)) return lazy.enabled(prop) ? lazy.call(prop) : noop;
      if (prop === 'child') return lazy.call('child');
      if (prop === 'level') return lazy.parent.level;
    }
    const logger = lazy.real() as unknown as Record<string | symbol, unknown>;
    const value = logger[prop];
    return typeof value === 'function' ? value.bind(logger) : value;
  },
  set(lazy, prop, value) {
    (lazy.real() as unknown as Record<string | symbol, unknown>)[prop] = value;
    return true;
  },
};

export function lazyRequestLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildOptions,
): FastifyBaseLogger {
  // the state is the proxy's target; every property read goes through the handler
  return new Proxy(new LazyChild(parent, bindings, options), handler) as unknown as FastifyBaseLogger;
}
