/**
 * Builds the HTTP API: Fastify 5 with TypeBox schemas, one error shape, request ids, Prometheus
 * metrics, OpenAPI at /openapi.json and browsable docs at /docs.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import type { Platform } from '../platform.ts';
import { type RehearsalGateParts, registerRehearsalGate, registerShadowGuard } from '../rehearsal/gate.ts';
import { errorHandler, frameworkErrorHandler, notFoundHandler } from './errors.ts';
import { registerDocsPage, registerInputChecks, registerPersonalDataHeaders } from './hygiene.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { registerAuthentication } from './plugins/authenticate.ts';
import { registerQueueMetrics } from './queue-metrics.ts';
import { lazyRequestLogger } from './request-logger.ts';
import { registerRoutes } from './routes/index.ts';
import { registerTracing } from './tracing.ts';
import type { Api } from './types.ts';
import { validatorCompiler } from './validation.ts';

/** A client-supplied request id is kept only if it looks like one (no log injection). */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{8,64}$/;
export const REQUEST_TIMEOUT_MS = 30_000;
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export type { Api } from './types.ts';

export interface ApiOptions {
  metrics?: Metrics;
  /** Where verified rehearsal traffic goes (docs/rehearsal.md); without it tagged requests are refused. */
  rehearsal?: RehearsalGateParts;
  /** Builds the shadow side's routes: only rehearsal-aware routes answer, and only tagged work reaches them. */
  shadow?: boolean;
}

/**
 * request.ip (log-in and registration throttles, rate limits, logs) is the socket's peer unless that
 * peer is a configured load balancer (FENQI_TRUSTED_PROXIES): a client cannot name itself in
 * X-Forwarded-For.
 */
const trustProxyOf = (proxies: string[]): string[] | false => (proxies.length > 0 ? proxies : false);

export async function buildApi(platform: Platform, options: ApiOptions = {}): Promise<Api> {
  const metrics = options.metrics ?? createMetrics();
  registerQueueMetrics(metrics.registry, platform);
  const app = Fastify({
    loggerInstance: platform.logger as FastifyBaseLogger,
    bodyLimit: platform.config.bodyLimitBytes,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestIdHeader: 'x-request-id',
    trustProxy: trustProxyOf(platform.config.trustedProxies),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    },
    // One line per request is written by our onResponse hook instead, with the route and timing.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, options) => lazyRequestLogger(logger, bindings, options),
    // Prototype-poisoning keys are refused, not silently kept.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    frameworkErrors: frameworkErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // The API speaks JSON only: a text/plain body is refused with 415 instead of reaching validation.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  // first: the whole request, the rehearsal gate included, runs inside its span (when tracing is on)
  registerTracing(app);
  // callback-style hooks (here and in onResponse): every request runs them, and an async hook
  // costs a promise and a microtask turn each time
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // before every other hook: no production hook or route sees a tagged request
  if (options.shadow) registerShadowGuard(app);
  else registerRehearsalGate(app, options.rehearsal);
  registerInputChecks(app);
  registerPersonalDataHeaders(app);
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    const level = reply.statusCode >= 500 ? 'error' : 'debug';
    request.log[level](
      { method: request.method, route, status: reply.statusCode, ms: reply.elapsedTime },
      'request',
    );
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'fenqi API',
        version: '1',
        description:
          'Installment credit: credit lines, goods and cash installments, repayments, risk decisions.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          merchantKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
    },
  });
  await registerDocsPage(app);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  registerAuthentication(app, platform);
  await registerRoutes(app, platform, metrics);
  return app;
}
