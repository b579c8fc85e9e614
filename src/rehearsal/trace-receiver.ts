/**
 * The rehearsal run's trace receiver: an OTLP/HTTP endpoint (`POST /v1/traces`, JSON) that keeps
 * the spans of one rehearsal, for the per-hop summary stored with the run (hops.ts).
 *
 * Why a receiver in the run rather than reading a tracing backend: the API and worker processes
 * already export to FENQI_OTEL_ENDPOINT, an OTLP collector in a real deployment, and a collector
 * fans a pipeline out to a second exporter with one line of its configuration (an `otlphttp`
 * exporter with `encoding: json` pointed at this receiver), whatever backend stores the traces for
 * people; without a collector, the processes' FENQI_OTEL_ENDPOINT names the receiver directly. The
 * run then needs no backend's query API, and what it counts are the spans as the processes made
 * them. Only spans carrying this rehearsal's id (REHEARSAL_ATTRIBUTE: the gate marks the API's
 * request span, every later span inherits it) are kept; production's spans are dropped on arrival.
 *
 * Memory is bounded: traces are sampled by their id at `sampleShare` (the run sets it so the
 * expected traces fit MAX_TRACES_HELD; a trace is kept whole or not at all, whenever its spans
 * arrive), and past MAX_SPANS_HELD spans are counted as dropped.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type OtlpTraces, type SpanRecord, spansFromOtlpJson } from './hops.ts';

/** Traces the run aims to keep (its sample share is set from the profile's orders). */
export const MAX_TRACES_HELD = 20_000;
/** Spans held at most, whatever the sampling: a guard against a misconfigured exporter. */
export const MAX_SPANS_HELD = 200_000;
/** An export body larger than this is refused (413): the SDK's batches are far smaller. */
export const MAX_OTLP_BODY_BYTES = 16 * 1024 * 1024;
export const OTLP_TRACES_PATH = '/v1/traces';

/** The share of traces to keep so that about MAX_TRACES_HELD of `expectedTraces` are held. */
export function sampleShareFor(expectedTraces: number): number {
  return expectedTraces <= MAX_TRACES_HELD ? 1 : MAX_TRACES_HELD / expectedTraces;
}

/**
 * Whether a trace is in the sample: a 32-bit FNV-1a hash of its id, read as a share, under the
 * share. The same for every span of a trace, whichever process sent it and whatever encoding of
 * the id (hex or base64) the exporter used.
 */
export function traceSampled(traceId: string, share: number): boolean {
  if (share >= 1) return true;
  let hash = 0x811c9dc5;
  for (let i = 0; i < traceId.length; i++) hash = Math.imul(hash ^ traceId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) / 2 ** 32 < share;
}

export interface ReceiverCounts {
  /** Spans of this rehearsal held. */
  held: number;
  /** Spans of this rehearsal not held: out of the sample, or past MAX_SPANS_HELD. */
  dropped: number;
  /** Spans of other work (production, another rehearsal), never held. */
  ignored: number;
  /** When the last span of this rehearsal arrived (ms since the epoch), 0 before any. */
  lastSpanAtMs: number;
}

export class TraceReceiver {
  private readonly held: SpanRecord[] = [];
  readonly counts: ReceiverCounts = { held: 0, dropped: 0, ignored: 0, lastSpanAtMs: 0 };

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private readonly rehearsalId: string,
    private readonly sampleShare: number,
  ) {}

  /** Listens on `host:port` (port 0: any free one); `url` is what to point an exporter at. */
  static async listen(hostPort: string, rehearsalId: string, sampleShare = 1): Promise<TraceReceiver> {
    const { hostname, port } = new URL(`http://${hostPort}`);
    const host = hostname.replace(/^\[|\]$/g, '');
    let receiver: TraceReceiver | undefined;
    const server = http.createServer((req, res) => receiver?.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(port || 0), host, resolve);
    });
    const address = server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    receiver = new TraceReceiver(server, `http://${shown}:${address.port}`, rehearsalId, sampleShare);
    return receiver;
  }

  /** This rehearsal's spans held so far. */
  spans(): readonly SpanRecord[] {
    return this.held;
  }

  /** Takes the spans of one export body; answers how many of this rehearsal's were held. */
  accept(body: OtlpTraces): number {
    let taken = 0;
    for (const span of spansFromOtlpJson(body)) {
      if (span.rehearsalId !== this.rehearsalId) {
        this.counts.ignored++;
        continue;
      }
      this.counts.lastSpanAtMs = Date.now();
      if (!traceSampled(span.traceId, this.sampleShare) || this.held.length >= MAX_SPANS_HELD) {
        this.counts.dropped++;
        continue;
      }
      this.held.push(span);
      taken++;
    }
    this.counts.held += taken;
    return taken;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const answer = (status: number, body: object) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method !== 'POST' || req.url?.split('?')[0] !== OTLP_TRACES_PATH) {
      answer(404, { error: 'only POST /v1/traces' });
      req.resume();
      return;
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      // protobuf is the collector's default: its exporter needs `encoding: json` (docs/rehearsal.md)
      answer(415, { error: 'OTLP/HTTP JSON only (application/json)' });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > MAX_OTLP_BODY_BYTES) {
        answer(413, { error: 'export body too large' });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      try {
        this.accept(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpTraces);
      } catch {
        answer(400, { error: 'not an OTLP JSON export' });
        return;
      }
      // OTLP/HTTP's success answer: an ExportTraceServiceResponse, empty when nothing was rejected
      answer(200, {});
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
