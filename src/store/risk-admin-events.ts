/**
 * The audit trail of risk administration (migrations/0061_risk_admin.sql): every policy publication
 * or roll-back, deny-list change and model role change, with the staff member who made it (null
 * from the CLI). Written in the transaction of the change it records; append-only (a trigger
 * refuses updates and deletes). Subjects and details never hold personal data: a deny-list entry
 * is named by its fingerprint, never by the number.
 */
import type { Queryable, TransactionSql } from './db.ts';
import { recordStaffAction } from './staff-audit.ts';

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

/**
 * Also appends the change to the hash-chained staff audit log (store/staff-audit.ts), so risk
 * administration from the API and the CLI is in the one verifiable trail; `detail` is its "after".
 */
export async function recordAdminEvent(
  sql: TransactionSql,
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
  await recordStaffAction(sql, {
    // risk administration is for the risk role (routes and the CLI's --as check it)
    actor: event.staffId === null ? null : { id: event.staffId, role: 'risk' },
    action: event.action,
    recordType: event.subject.split(' ')[0] ?? 'risk',
    recordId: event.subject,
    before: null,
    after: { subject: event.subject, detail: event.detail ?? {} },
  });
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
