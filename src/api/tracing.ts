/**
 * The HTTP request's span (src/telemetry/tracing.ts), registered first so the whole request —
 * the rehearsal gate, the handler, the publish — runs inside it. Registered only when tracing is
 * on. Names the route pattern, never the URL (ids), a header or a body.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { currentRehearsal } from '../rehearsal/context.ts';
import { messageContext, REHEARSAL_ATTRIBUTE, SPAN_NAMES, tracingEnabled } from '../telemetry/tracing.ts';
import type { Api } from './types.ts';

export function registerTracing(app: Api): void {
  if (!tracingEnabled()) return;
  app.addHook('onRequest', (request, reply, done) => {
    const parent = messageContext(request.headers as Record<string, string>, context.active());
    const span = trace.getTracer('fenqi').startSpan(
      SPAN_NAMES.http,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'http.route': request.routeOptions.url ?? 'unmatched',
        },
      },
      parent,
    );
    // on the raw response: a tagged request is hijacked to the shadow routes and skips onResponse
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const status = reply.raw.statusCode;
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    reply.raw.once('finish', end);
    reply.raw.once('close', end);
    // the rest of the request (hooks, handler) starts from done(), so it runs in the span's context
    context.with(trace.setSpan(parent, span), () => {
      const rehearsal = currentRehearsal();
      if (rehearsal) span.setAttribute(REHEARSAL_ATTRIBUTE, rehearsal.tag.rehearsalId);
      done();
    });
  });
}
