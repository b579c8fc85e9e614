/**
 * What every request and answer of the API goes through, whatever the route (issue 14 items 6, 8):
 * the one strict JSON body parser, the same check of path and query text, and no-store on every
 * answer that may carry personal data.
 */
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyRequest } from 'fastify';
import { refuse } from './errors.ts';
import { isUnstorableText, parseStrictJson } from './strict-json.ts';
import type { Api } from './types.ts';

/** Answers that may hold personal data are never kept by a browser or a shared cache. */
export const PERSONAL_DATA_CACHE_CONTROL = 'no-store';

/**
 * Every authenticated answer (any credentials sent, valid or not), log-in and registration: the
 * simple rule, so no route that returns personal data can forget it.
 */
function carriesPersonalData(request: FastifyRequest): boolean {
  const url = request.url;
  return (
    request.principal !== undefined ||
    request.headers.authorization !== undefined ||
    request.headers['x-api-key'] !== undefined ||
    url.startsWith('/v1/auth/') ||
    url.startsWith('/v1/customers') ||
    url.startsWith('/v1/staff')
  );
}

function hasUnstorableText(part: Record<string, unknown>): boolean {
  return Object.entries(part).some(
    ([key, value]) =>
      isUnstorableText(key) ||
      (typeof value === 'string' && isUnstorableText(value)) ||
      (Array.isArray(value) && value.some((v) => typeof v === 'string' && isUnstorableText(v))),
  );
}

/** One strict parser for every JSON body, and the same text check on path and query. */
export function registerInputChecks(app: Api): void {
  // One strict parser for every JSON body: duplicate keys and text the database cannot store are
  // refused here with their own codes, before any route (strict-json.ts).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    try {
      done(null, parseStrictJson(text as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // Path and query text is checked like body text: a NUL or unpaired surrogate never reaches SQL.
  // callback-style hooks here and below: every request runs them, and an async hook costs a
  // promise and a microtask turn each time
  app.addHook('preValidation', (request, _reply, done) => {
    const unstorable = [request.params, request.query].some(
      (part) => part && typeof part === 'object' && hasUnstorableText(part as Record<string, unknown>),
    );
    done(
      unstorable
        ? refuse('UNSTORABLE_TEXT', 'the URL holds a NUL character or an unpaired surrogate')
        : undefined,
    );
  });
}

export function registerPersonalDataHeaders(app: Api): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    if (carriesPersonalData(request)) reply.header('cache-control', PERSONAL_DATA_CACHE_CONTROL);
    done(null, payload);
  });
}

/** Browsable docs at /docs, with a Content-Security-Policy. */
export async function registerDocsPage(app: Api): Promise<void> {
  // The docs page gets a CSP like the web pages: the plugin's own (script hashes of its inline
  // code), minus what assumes HTTPS in front (upgrade-insecure-requests, https: sources).
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: (header) =>
      header
        .replace(/\s*upgrade-insecure-requests;?/, '')
        .replaceAll(' https:', '')
        .concat(" connect-src 'self';"),
  });
}
