/**
 * Where an order's time goes, hop by hop, from its trace (src/telemetry/tracing.ts): in the API
 * (the HTTP request's span), waiting in the queue (from the intake publish's end to the settle
 * batch's start), in the worker (the settle batch) and in the database (its transaction). The
 * rehearsal report reads it from the spans the OTLP endpoint received (docs/rehearsal.md).
 */
import { SPAN_NAMES } from '../telemetry/tracing.ts';
import { percentile } from './percentile.ts';

/** A finished span, as far as the summary needs it. */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  startMs: number;
  endMs: number;
}

export const HOPS = ['api', 'queueWait', 'worker', 'database'] as const;
export type Hop = (typeof HOPS)[number];

export interface HopFigures {
  /** Traces that had this hop. */
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export type HopSummary = Record<Hop, HopFigures>;

function figures(values: number[]): HopFigures {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    meanMs: sorted.length === 0 ? 0 : sum / sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? 0,
  };
}

/** One trace's hops: the outermost API span, the first publish, batch and transaction in it. */
function hopsOfTrace(spans: SpanRecord[]): Partial<Record<Hop, number>> {
  const byName = (name: string) => spans.filter((s) => s.name === name).sort((a, b) => a.startMs - b.startMs);
  const ids = new Set(spans.map((s) => s.spanId));
  const http = byName(SPAN_NAMES.http);
  // a tagged request has the production API's span and the shadow routes' inside it: the outer one
  const api = http.find((s) => !s.parentSpanId || !ids.has(s.parentSpanId)) ?? http[0];
  const publish = byName(SPAN_NAMES.intakePublish)[0];
  const batch = byName(SPAN_NAMES.settleBatch)[0];
  const tx = byName(SPAN_NAMES.settleTransaction)[0];
  const out: Partial<Record<Hop, number>> = {};
  if (api) out.api = api.endMs - api.startMs;
  if (publish && batch) out.queueWait = Math.max(0, batch.startMs - publish.endMs);
  if (batch) out.worker = batch.endMs - batch.startMs;
  if (tx) out.database = tx.endMs - tx.startMs;
  return out;
}

/** Per hop, over every trace in `spans`: how many traces had it, mean, p50, p99 and max, in ms. */
export function hopSummary(spans: SpanRecord[]): HopSummary {
  const traces = new Map<string, SpanRecord[]>();
  for (const s of spans) traces.set(s.traceId, [...(traces.get(s.traceId) ?? []), s]);
  const values: Record<Hop, number[]> = { api: [], queueWait: [], worker: [], database: [] };
  for (const trace of traces.values()) {
    const hops = hopsOfTrace(trace);
    for (const hop of HOPS) if (hops[hop] !== undefined) values[hop].push(hops[hop]);
  }
  return {
    api: figures(values.api),
    queueWait: figures(values.queueWait),
    worker: figures(values.worker),
    database: figures(values.database),
  };
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
}
interface OtlpTraces {
  resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

const nanosToMs = (n: string | number) => Number(BigInt(n) / 1_000n) / 1_000;

/** The spans of an OTLP/HTTP JSON export body (what the endpoint received). */
export function spansFromOtlpJson(body: OtlpTraces): SpanRecord[] {
  return (body.resourceSpans ?? []).flatMap((r) =>
    (r.scopeSpans ?? []).flatMap((s) =>
      (s.spans ?? []).map((span) => ({
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId || undefined,
        name: span.name,
        startMs: nanosToMs(span.startTimeUnixNano),
        endMs: nanosToMs(span.endTimeUnixNano),
      })),
    ),
  );
}
