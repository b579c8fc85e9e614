/**
 * Where an order's time goes, hop by hop, from its trace (src/telemetry/tracing.ts): in the API
 * (the HTTP request's span), publishing to NATS until JetStream's ack (the intake publish's span),
 * waiting in the queue (from the publish's end to the settle batch's start), in the settler (the
 * settle batch) and in the database (its transaction). The rehearsal run reads the spans its trace
 * receiver got (trace-receiver.ts) and stores this summary with the run (docs/rehearsal.md).
 */
import { REHEARSAL_ATTRIBUTE, SPAN_NAMES } from '../telemetry/tracing.ts';
import { percentile } from './percentile.ts';

/** A finished span, as far as the summary needs it. */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  startMs: number;
  endMs: number;
  /** The rehearsal the span's work belongs to (its REHEARSAL_ATTRIBUTE), if any. */
  rehearsalId?: string;
}

export const HOPS = ['api', 'publish', 'queueWait', 'worker', 'database'] as const;
export type Hop = (typeof HOPS)[number];

/** What a person reads for each hop (the report's rows). */
export const HOP_LABELS: Record<Hop, string> = {
  api: 'API handler (whole request)',
  publish: 'NATS publish, until the ack',
  queueWait: 'waiting in NATS',
  worker: 'settler (whole batch)',
  database: 'PostgreSQL transaction',
};

export interface HopFigures {
  /** Traces that had this hop. */
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * This hop's share (0..1) of the time summed over every hop, counting each hop's own time only:
   * the API without the publish it waits for, the settler without its transaction, so no time is
   * counted twice.
   */
  share: number;
}

export type HopSummary = Record<Hop, HopFigures>;

function figures(values: number[], ownMs: number, allOwnMs: number): HopFigures {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    meanMs: sorted.length === 0 ? 0 : sum / sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? 0,
    share: allOwnMs > 0 ? ownMs / allOwnMs : 0,
  };
}

type TraceHops = Partial<Record<Hop, number>>;

/** One trace's hops: the outermost API span, the first publish, batch and transaction in it. */
function hopsOfTrace(spans: SpanRecord[]): TraceHops {
  const byName = (name: string) => spans.filter((s) => s.name === name).sort((a, b) => a.startMs - b.startMs);
  const ids = new Set(spans.map((s) => s.spanId));
  const http = byName(SPAN_NAMES.http);
  // a tagged request has the production API's span and the shadow routes' inside it: the outer one
  const api = http.find((s) => !s.parentSpanId || !ids.has(s.parentSpanId)) ?? http[0];
  const publish = byName(SPAN_NAMES.intakePublish)[0];
  const batch = byName(SPAN_NAMES.settleBatch)[0];
  const tx = byName(SPAN_NAMES.settleTransaction)[0];
  const out: TraceHops = {};
  if (api) out.api = api.endMs - api.startMs;
  if (publish) out.publish = publish.endMs - publish.startMs;
  if (publish && batch) out.queueWait = Math.max(0, batch.startMs - publish.endMs);
  if (batch) out.worker = batch.endMs - batch.startMs;
  if (tx) out.database = tx.endMs - tx.startMs;
  return out;
}

/** A trace's hops without overlap: the API's own time and the settler's own time. */
function ownTimes(h: TraceHops): TraceHops {
  return {
    ...h,
    api: h.api === undefined ? undefined : Math.max(0, h.api - (h.publish ?? 0)),
    worker: h.worker === undefined ? undefined : Math.max(0, h.worker - (h.database ?? 0)),
  };
}

/** Per hop, over every trace in `spans`: how many traces had it, mean, p50, p99, max and share. */
export function hopSummary(spans: SpanRecord[]): HopSummary {
  const traces = new Map<string, SpanRecord[]>();
  for (const s of spans) {
    const trace = traces.get(s.traceId);
    if (trace) trace.push(s);
    else traces.set(s.traceId, [s]);
  }
  const values = Object.fromEntries(HOPS.map((h) => [h, [] as number[]])) as Record<Hop, number[]>;
  const own = Object.fromEntries(HOPS.map((h) => [h, 0])) as Record<Hop, number>;
  for (const trace of traces.values()) {
    const hops = hopsOfTrace(trace);
    const mine = ownTimes(hops);
    for (const hop of HOPS) {
      if (hops[hop] !== undefined) values[hop].push(hops[hop]);
      own[hop] += mine[hop] ?? 0;
    }
  }
  const allOwn = HOPS.reduce((a, h) => a + own[h], 0);
  return Object.fromEntries(HOPS.map((h) => [h, figures(values[h], own[h], allOwn)])) as HopSummary;
}

interface OtlpAttribute {
  key: string;
  value?: { stringValue?: string };
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: OtlpAttribute[];
}
export interface OtlpTraces {
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
        rehearsalId: span.attributes?.find((a) => a.key === REHEARSAL_ATTRIBUTE)?.value?.stringValue,
      })),
    ),
  );
}
