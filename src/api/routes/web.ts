/**
 * The web part: plain static files from web/ (no build step), the borrower app under /app/, the
 * operations console under /console/ and what both share under /shared/. `/` sends a browser to
 * the app. The pages call the same /v1 API as any client; a strict Content-Security-Policy keeps
 * them to this origin's scripts, styles and API.
 */
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';

import { CJK_FONT_DIR, WEB_ROOT } from '../../paths.ts';

export { WEB_ROOT };
export const WEB_AREAS = ['app', 'console', 'shared'] as const;
/** Where the pages find the CJK font (both index.html files link its CSS from here). */
export const FONT_PREFIX = '/fonts/noto-sans-sc/';
/**
 * What is served of the package: its CSS (`index.css`, one @font-face per slice, weights 100-900)
 * and the slices themselves; nothing else (no README, metadata or package.json).
 */
export const FONT_CSS = 'index.css';
const FONT_FILE =
  /^\/(?:index\.css|files\/noto-sans-sc-(?:\d+|latin|latin-ext|cyrillic|vietnamese)-wght-normal\.woff2)$/;
/** Font slices never change under one package version: a browser may keep them a year. */
const FONT_MAX_AGE_S = 365 * 24 * 3600;

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  // Files change with the code, not with a version in their name: revalidate by ETag each time.
  reply.header('cache-control', 'no-cache');
}

export function webRoutes(): FastifyPluginAsyncTypebox {
  return async (app) => {
    for (const area of WEB_AREAS) {
      await app.register(fastifyStatic, {
        root: path.join(WEB_ROOT, area),
        prefix: `/${area}/`,
        decorateReply: false,
        dotfiles: 'ignore',
        cacheControl: false,
        setHeaders: securityHeaders,
      });
    }
    await app.register(fastifyStatic, {
      root: CJK_FONT_DIR,
      prefix: FONT_PREFIX,
      decorateReply: false,
      dotfiles: 'ignore',
      cacheControl: false,
      allowedPath: (pathName) => FONT_FILE.test(pathName),
      setHeaders: (reply: FastifyReply) => {
        securityHeaders(reply);
        reply.header('cache-control', `public, max-age=${FONT_MAX_AGE_S}, immutable`);
      },
    });
    app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/app/', 302));
    // `/app` and `/console` as typed in an address bar: the pages' relative links need the slash.
    for (const area of ['app', 'console'] as const) {
      app.get(`/${area}`, { schema: { hide: true } }, async (_request, reply) =>
        reply.redirect(`/${area}/`, 301),
      );
    }
  };
}
