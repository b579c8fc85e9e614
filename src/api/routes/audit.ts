/**
 * The staff audit log for admins: GET /v1/audit (newest first) and GET /v1/audit/verify (the
 * chain recomputed, as `fenqi audit verify` does).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import { AUDIT_LIST_MAX, listStaffAudit, verifyStaffAudit } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { idFromPath } from './ids.ts';

const DEFAULT_PAGE = 50;
const EntryView = Type.Object({
  seq: Type.String(),
  created_at: Type.String(),
  actor_id: Type.Union([Type.String(), Type.Null()]),
  actor_role: Type.String(),
  action: Type.String(),
  record_type: Type.String(),
  record_id: Type.String(),
});
const VerifyView = Type.Object({
  ok: Type.Boolean(),
  rows: Type.String(),
  first_bad_row: Type.Union([Type.String(), Type.Null()]),
  problem: Type.Union([Type.String(), Type.Null()]),
});

export function auditRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  const route = { preHandler: requireRole('admin') };
  return async (app) => {
    app.get(
      '/v1/audit',
      {
        ...route,
        schema: {
          tags: ['staff'],
          summary: 'Staff actions, newest first (admin)',
          security: [{ bearer: [] }],
          querystring: Type.Object(
            {
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_LIST_MAX })),
              cursor: Type.Optional(Type.String({ pattern: '^\\d{1,19}$' })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              items: Type.Array(EntryView),
              next_cursor: Type.Union([Type.String(), Type.Null()]),
            }),
          },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? DEFAULT_PAGE;
        const before = request.query.cursor === undefined ? null : (idFromPath(request.query.cursor) ?? null);
        const items = await listStaffAudit(sql, limit, before);
        const last = items[items.length - 1];
        return {
          items: items.map((e) => ({
            seq: e.seq.toString(),
            created_at: e.createdAt.toISOString(),
            actor_id: e.actorId === null ? null : e.actorId.toString(),
            actor_role: e.actorRole,
            action: e.action,
            record_type: e.recordType,
            record_id: e.recordId,
          })),
          next_cursor: items.length === limit && last ? last.seq.toString() : null,
        };
      },
    );

    app.get(
      '/v1/audit/verify',
      {
        ...route,
        schema: {
          tags: ['staff'],
          summary: 'Recompute the audit hash chain; names the first changed, deleted or moved row (admin)',
          security: [{ bearer: [] }],
          response: { 200: VerifyView },
        },
      },
      async () => {
        const result = await verifyStaffAudit(sql);
        return result.ok
          ? { ok: true, rows: result.rows.toString(), first_bad_row: null, problem: null }
          : {
              ok: false,
              rows: result.rows.toString(),
              first_bad_row: result.firstBadSeq.toString(),
              problem: result.problem,
            };
      },
    );
  };
}
