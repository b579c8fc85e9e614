/** POST /v1/staff: ops create risk and ops users. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../store/passwords.ts';
import { createStaff, parseUsername } from '../../store/staff.ts';
import { requireRole } from '../auth.ts';
import { refuse } from '../errors.ts';

const StaffRole = Type.Union([Type.Literal('risk'), Type.Literal('ops'), Type.Literal('collector')]);
const NewStaff = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH }),
    role: StaffRole,
  },
  { additionalProperties: false },
);
const StaffBody = Type.Object({ id: Type.String(), username: Type.String(), role: StaffRole });

export function staffRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/staff',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags: ['staff'],
          summary: 'Create a staff user (ops only)',
          security: [{ bearer: [] }],
          body: NewStaff,
          response: { 201: StaffBody },
        },
      },
      async (request, reply) => {
        const username = parseUsername(request.body.username);
        if (!username) {
          throw refuse('INVALID_USERNAME', 'a username is 3-32 of a-z, 0-9, ".", "_" and "-"');
        }
        const passwordHash = await hashPassword(request.body.password);
        const created = await createStaff(platform.db.sql, {
          username,
          role: request.body.role,
          passwordHash,
        });
        if (!created.ok) throw refuse('USERNAME_TAKEN', 'that username is taken');
        return reply.status(201).send({ id: created.id.toString(), username, role: request.body.role });
      },
    );
  };
}
