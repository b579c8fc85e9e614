/**
 * Staff users: POST /v1/staff creates one, PUT /v1/staff/:id/role changes a role. Who may give
 * which role is the grant matrix (src/staff/grants.ts): ops onboard ops, only an admin gives risk
 * or admin powers, nobody changes their own role. Every creation and grant is in the staff audit
 * log, in the transaction that makes it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import { GRANTING_ROLES, mayGrant, type StaffRole } from '../../staff/grants.ts';
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../store/passwords.ts';
import { createStaff, parseUsername, setStaffRole } from '../../store/staff.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { forbidden, notFound, refuse } from '../errors.ts';
import { IdString, idFromPath } from './ids.ts';

const StaffRoleSchema = Type.Union([
  Type.Literal('risk'),
  Type.Literal('ops'),
  Type.Literal('admin'),
  Type.Literal('collector'),
]);
const NewStaff = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH }),
    role: StaffRoleSchema,
  },
  { additionalProperties: false },
);
const StaffBody = Type.Object({ id: Type.String(), username: Type.String(), role: StaffRoleSchema });

function assertMayGrant(granterRole: string, role: StaffRole): void {
  if (!mayGrant(granterRole, role)) {
    throw refuse('ROLE_NOT_GRANTABLE', `a ${granterRole} user may not give the role ${role}`, { role });
  }
}

export function staffRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  const granters = requireRole(...GRANTING_ROLES);
  return async (app) => {
    app.post(
      '/v1/staff',
      {
        preHandler: granters,
        schema: {
          tags: ['staff'],
          summary: 'Create a staff user (admin: any role; ops: ops only)',
          security: [{ bearer: [] }],
          body: NewStaff,
          response: { 201: StaffBody },
        },
      },
      async (request, reply) => {
        const principal = request.principal!;
        assertMayGrant(principal.role, request.body.role);
        const username = parseUsername(request.body.username);
        if (!username) {
          throw refuse('INVALID_USERNAME', 'a username is 3-32 of a-z, 0-9, ".", "_" and "-"');
        }
        const passwordHash = await hashPassword(request.body.password);
        const { role } = request.body;
        const created = await sql.begin(async (tx) => {
          const made = await createStaff(tx, { username, role, passwordHash });
          if (!made.ok) return made;
          await recordStaffAction(tx, {
            actor: principal,
            action: 'staff_created',
            recordType: 'staff',
            recordId: made.id.toString(),
            before: null,
            after: { id: made.id, username, role },
          });
          return made;
        });
        if (!created.ok) throw refuse('USERNAME_TAKEN', 'that username is taken');
        return reply.status(201).send({ id: created.id.toString(), username, role });
      },
    );

    app.put(
      '/v1/staff/:id/role',
      {
        preHandler: granters,
        schema: {
          tags: ['staff'],
          summary: "Change a staff user's role (the granter must be allowed to give both roles)",
          security: [{ bearer: [] }],
          params: Type.Object({ id: IdString }),
          body: Type.Object({ role: StaffRoleSchema }, { additionalProperties: false }),
          response: { 200: StaffBody },
        },
      },
      async (request) => {
        const principal = request.principal!;
        const id = idFromPath(request.params.id);
        if (id === undefined) throw notFound('staff user');
        if (id === principal.id) throw forbidden('nobody changes their own role');
        const { role } = request.body;
        assertMayGrant(principal.role, role);
        const changed = await sql.begin(async (tx) => {
          const done = await setStaffRole(tx, id, role);
          if (!done) return undefined;
          // taking a role away is granting power over it too: ops cannot demote a risk officer
          assertMayGrant(principal.role, done.before.role);
          await recordStaffAction(tx, {
            actor: principal,
            action: 'staff_role_granted',
            recordType: 'staff',
            recordId: id.toString(),
            before: done.before,
            after: done.after,
          });
          return done.after;
        });
        if (!changed) throw notFound('staff user');
        return { id: changed.id.toString(), username: changed.username, role: changed.role };
      },
    );
  };
}
