/**
 * Staff users (roles risk, ops and admin; who may grant which: src/staff/grants.ts). Usernames are not personal data here: they are work logins,
 * kept in clear and compared in lower case.
 */
import { STAFF_ROLES, type StaffRole } from '../staff/grants.ts';
import type { Queryable, TransactionSql } from './db.ts';

export { STAFF_ROLES, type StaffRole };

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{2,31}$/;

/** Lower-cased username when it has the allowed shape (3-32 of a-z 0-9 . _ -). */
/**
 * The one spelling of a username for look-up, uniqueness and log-in counting alike: NFKC (full-width
 * and compatibility forms fold), trimmed, lower-case.
 */
export function normaliseUsername(raw: string): string {
  return raw.normalize('NFKC').trim().toLowerCase();
}

export function parseUsername(raw: string): string | undefined {
  const username = normaliseUsername(raw);
  return USERNAME_PATTERN.test(username) ? username : undefined;
}

export interface StaffUser {
  id: bigint;
  username: string;
  role: StaffRole;
  passwordHash: string;
}

export async function createStaff(
  sql: Queryable,
  user: { username: string; role: StaffRole; passwordHash: string },
): Promise<{ ok: true; id: bigint } | { ok: false; conflict: 'username' }> {
  const rows = await sql<{ id: bigint }[]>`
    insert into staff (username, role, password_hash)
    values (${user.username}, ${user.role}, ${user.passwordHash})
    on conflict (username) do nothing
    returning id`;
  const row = rows[0];
  return row ? { ok: true, id: row.id } : { ok: false, conflict: 'username' };
}

export async function findStaffByUsername(sql: Queryable, username: string): Promise<StaffUser | undefined> {
  const [row] = await sql<{ id: bigint; username: string; role: StaffRole; password_hash: string }[]>`
    select id, username, role, password_hash from staff where username = ${username}`;
  return row && { id: row.id, username: row.username, role: row.role, passwordHash: row.password_hash };
}

export async function updateStaffPasswordHash(sql: Queryable, id: bigint, passwordHash: string) {
  await sql`update staff set password_hash = ${passwordHash} where id = ${id.toString()}::bigint`;
}

export async function getStaff(
  sql: Queryable,
  id: bigint,
): Promise<{ id: bigint; username: string; role: StaffRole } | undefined> {
  const [row] = await sql<{ id: bigint; username: string; role: StaffRole }[]>`
    select id, username, role from staff where id = ${id.toString()}::bigint`;
  return row;
}

/** Changes a user's role; answers the row before and after, or undefined when there is none. */
export async function setStaffRole(
  tx: TransactionSql,
  id: bigint,
  role: StaffRole,
): Promise<
  | {
      before: { id: bigint; username: string; role: StaffRole };
      after: { id: bigint; username: string; role: StaffRole };
    }
  | undefined
> {
  const [before] = await tx<{ id: bigint; username: string; role: StaffRole }[]>`
    select id, username, role from staff where id = ${id.toString()}::bigint for update`;
  if (!before) return undefined;
  await tx`update staff set role = ${role} where id = ${id.toString()}::bigint`;
  return { before, after: { ...before, role } };
}
