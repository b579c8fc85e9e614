/** Prometheus metrics: process defaults, HTTP latency per route, and whatever parts register. */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  partUp: Counter<'part'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fenqi_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'fenqi_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    partUp: new Counter({
      name: 'fenqi_readiness_checks_total',
      help: 'Readiness checks per part that found it down',
      labelNames: ['part'],
      registers: [registry],
    }),
  };
}
