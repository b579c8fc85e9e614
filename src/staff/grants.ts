/**
 * Who may give which staff role: the one grant matrix (issue 14 item 4). Used by the staff routes
 * (creating a user, changing a user's role) and checked against the rank order below by a test,
 * so nobody can grant a role above their own:
 *   admin -> admin, risk, ops, collector   (manages staff; reads and verifies the audit log)
 *   ops   -> ops                           (operations staff onboard their own colleagues)
 *   risk  -> nothing                       (credit powers are granted by an admin only)
 *   collector -> nothing                   (collections work, issue 15)
 * Pure: no I/O.
 */
export const STAFF_ROLES = ['risk', 'ops', 'admin', 'collector'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** Higher may manage lower or equal; risk and ops are peers in different areas. */
export const ROLE_RANK: Readonly<Record<StaffRole, number>> = { ops: 1, risk: 1, admin: 2, collector: 1 };

export const GRANT_MATRIX: Readonly<Record<StaffRole, readonly StaffRole[]>> = {
  admin: ['admin', 'risk', 'ops', 'collector'],
  ops: ['ops'],
  risk: [],
  collector: [],
};

export function isStaffRole(role: string): role is StaffRole {
  return (STAFF_ROLES as readonly string[]).includes(role);
}

/** Whether a staff member acting under `granterRole` may create a user with, or grant, `role`. */
export function mayGrant(granterRole: string, role: StaffRole): boolean {
  if (!isStaffRole(granterRole)) return false;
  return GRANT_MATRIX[granterRole].includes(role) && ROLE_RANK[role] <= ROLE_RANK[granterRole];
}

/** Roles that may create or change staff at all (the routes admit only these). */
export const GRANTING_ROLES: readonly StaffRole[] = STAFF_ROLES.filter((r) => GRANT_MATRIX[r].length > 0);
