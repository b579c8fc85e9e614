/**
 * The audit trail of risk administration (migrations/0061_risk_admin.sql): every policy publication
 * or roll-back, deny-list change and model role change, with the staff member who made it (null
 * from the CLI). Written in the transaction of the change it records; append-only (a trigger
 * refuses updates and deletes). Subjects and details never hold personal data: a deny-list entry
 * is named by its fingerprint, never by the number.
 */
import type { Queryable } from './db.ts';

export const ADMIN_EVENT_ACTIONS = [
  'policy_published',
  'policy_activated',
  'deny_added',
  'deny_removed',
  'model_promoted',
  'model_role_changed',
] as const;
export type AdminEventAction = (typeof ADMIN_EVENT_ACTIONS)[number];

/** Largest page of the audit trail one request reads. */
export const ADMIN_EVENTS_PAGE_MAX = 200;

export interface AdminEvent {
  id: bigint;
  action: AdminEventAction;
  subject: string;
  staffId: bigint | null;
  detail: Record<string, unknown>;
  createdAt: Date;
}

export async function recordAdminEvent(
  sql: Queryable,
  event: {
    action: AdminEventAction;
    subject: string;
    staffId: bigint | null;
    detail?: Record<string, string | number | boolean | null>;
  },
): Promise<void> {
  await sql`
    insert into risk_admin_events (action, subject, staff_id, detail)
    values (${event.action}, ${event.subject}, ${event.staffId === null ? null : event.staffId.toString()}::bigint,
            ${sql.json((event.detail ?? {}) as never)})`;
}

/** Newest first; `beforeId` is the last id of the previous page. */
export async function listAdminEvents(
  sql: Queryable,
  limit: number,
  beforeId: bigint | null,
): Promise<AdminEvent[]> {
  const rows = await sql<
    {
      id: bigint;
      action: AdminEventAction;
      subject: string;
      staff_id: bigint | null;
      detail: Record<string, unknown>;
      created_at: Date;
    }[]
  >`
    select id, action, subject, staff_id, detail, created_at from risk_admin_events
    where ${beforeId === null ? sql`true` : sql`id < ${beforeId.toString()}::bigint`}
    order by id desc limit ${limit}`;
  return rows.map((r) => ({
    id: r.id,
    action: r.action,
    subject: r.subject,
    staffId: r.staff_id,
    detail: r.detail,
    createdAt: r.created_at,
  }));
}
