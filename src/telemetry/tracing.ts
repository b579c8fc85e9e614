/**
 * OpenTelemetry tracing across the API, the queue and the workers (docs/rehearsal.md, "Tracing").
 * Off unless an endpoint is configured (FENQI_OTEL_ENDPOINT, else the standard
 * OTEL_EXPORTER_OTLP_ENDPOINT): then spans go to `<endpoint>/v1/traces` as OTLP/HTTP JSON, and every
 * publish carries the W3C trace context (traceparent, and the rehearsal id as baggage) in its NATS
 * headers, from which the consuming worker continues the trace. Off, `inSpan` is a plain call and
 * no header is added: no cost. Spans carry names, ids and counts only: never a secret, a token, a
 * message body or a personal field.
 */
import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { addPublishHeaders } from '../queue/propagating-queue.ts';
import type { MessageHeaders } from '../queue/queue.ts';
import { currentRehearsal } from '../rehearsal/context.ts';

export const SERVICE_NAME = 'fenqi';
/** The span attribute (and baggage entry) naming the rehearsal a span's work belongs to. */
export const REHEARSAL_ATTRIBUTE = 'fenqi.rehearsal_id';
/** Spans are sent at least this often (and when the process stops). */
export const TRACE_EXPORT_INTERVAL_MS = 1_000;
export const TRACE_EXPORT_TIMEOUT_MS = 5_000;
/** Spans held for export at most; past it new ones are dropped, never blocking the work. */
export const TRACE_QUEUE_MAX_SPANS = 20_000;

/** The spans the per-hop summary reads (rehearsal/hops.ts): one name each, kept here only. */
export const SPAN_NAMES = {
  http: 'http.request',
  decision: 'order.decision',
  intakePublish: 'orders.publish',
  settleBatch: 'orders.settle_batch',
  settleTransaction: 'db.settle_transaction',
  relayPublish: 'events.relay_publish',
} as const;

let provider: NodeTracerProvider | undefined;

export function tracingEnabled(): boolean {
  return provider !== undefined;
}

/** The OTLP/HTTP traces URL from the environment, or undefined (tracing off). */
export function tracesUrlOf(env: Record<string, string | undefined>): string | undefined {
  const base = env.FENQI_OTEL_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!base) return undefined;
  const url = new URL(base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error('the OTLP endpoint must be http(s)://');
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/** Turns tracing on when an endpoint is configured; answers whether it is on. Idempotent. */
export function startTracing(env: Record<string, string | undefined> = process.env): boolean {
  if (provider) return true;
  const url = tracesUrlOf(env);
  if (!url) return false;
  const exporter = new OTLPTraceExporter({ url, timeoutMillis: TRACE_EXPORT_TIMEOUT_MS });
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || SERVICE_NAME }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        scheduledDelayMillis: TRACE_EXPORT_INTERVAL_MS,
        maxQueueSize: TRACE_QUEUE_MAX_SPANS,
      }),
    ],
  });
  // the AsyncLocalStorage context manager and the W3C trace-context and baggage propagators
  provider.register();
  addPublishHeaders(traceHeaders);
  return true;
}

/** Sends what is held now (tests, and before a process exits). */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush();
}

export async function stopTracing(): Promise<void> {
  await provider?.shutdown();
}

/**
 * Names the rehearsal on the active span: the API's request span starts before the gate has read
 * the tag, so the gate marks it once verified, and every span of a rehearsal's trace carries it
 * (what the run's trace receiver keeps).
 */
export function markRehearsalSpan(rehearsalId: string): void {
  if (!provider) return;
  trace.getActiveSpan()?.setAttribute(REHEARSAL_ATTRIBUTE, rehearsalId);
}

/** The W3C headers of the active span (and the rehearsal id as baggage), for a message. */
export function traceHeaders(): MessageHeaders {
  const carrier: Record<string, string> = {};
  let active = context.active();
  const rehearsal = currentRehearsal();
  if (rehearsal) {
    const baggage = propagation.createBaggage({
      [REHEARSAL_ATTRIBUTE]: { value: rehearsal.tag.rehearsalId },
    });
    active = propagation.setBaggage(active, baggage);
  }
  propagation.inject(active, carrier);
  return carrier;
}

const headerGetter: TextMapGetter<MessageHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key] ?? carrier[key.toLowerCase()],
};

/**
 * The trace context a message (or request) was sent in; without one, `base` (a message: a new
 * trace; a request: whatever is active, as for the shadow routes inside the API's span).
 */
export function messageContext(headers: MessageHeaders, base: Context = ROOT_CONTEXT): Context {
  return propagation.extract(base, headers, headerGetter);
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The context to start in (a consumed message's); default: the active one. */
  parent?: Context;
  links?: Link[];
}

const NO_SPAN = trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });

/** Runs `fn` in a new active span, ended when it settles (an error marks it and is rethrown). */
export function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => T): T {
  if (!provider) return fn(NO_SPAN);
  const rehearsal = currentRehearsal();
  const attributes = {
    ...options.attributes,
    ...(rehearsal ? { [REHEARSAL_ATTRIBUTE]: rehearsal.tag.rehearsalId } : {}),
  };
  const tracer = trace.getTracer(SERVICE_NAME);
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes, links: options.links ?? [] },
    parent,
  );
  const failed = (err: unknown) => {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.name ?? 'error' });
    span.end();
  };
  try {
    const result = context.with(trace.setSpan(parent, span), () => fn(span));
    if (result instanceof Promise) {
      return result.then(
        (value) => {
          span.end();
          return value;
        },
        (err) => {
          failed(err);
          throw err;
        },
      ) as T;
    }
    span.end();
    return result;
  } catch (err) {
    failed(err);
    throw err;
  }
}

export { SpanKind };
