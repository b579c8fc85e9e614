/**
 * Staff users (roles risk, ops and collector). Usernames are not personal data here: they are work logins,
 * kept in clear and compared in lower case.
 */
import type { Queryable } from './db.ts';

export const STAFF_ROLES = ['risk', 'ops', 'collector'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{2,31}$/;

/** Lower-cased username when it has the allowed shape (3-32 of a-z 0-9 . _ -). */
export function parseUsername(raw: string): string | undefined {
  const username = raw.trim().toLowerCase();
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
