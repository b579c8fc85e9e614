/**
 * A merchant's setting changed by staff (its return window, its settlement discount): the merchant
 * must exist, the new value and the staff action that records the old and the new one are written
 * in one transaction, and the answer is the value as stored.
 */
import type { FastifyRequest } from 'fastify';
import type { Queryable, Sql } from '../../store/db.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { notFound } from '../errors.ts';

export interface MerchantSetting<T> {
  /** The staff action recorded, e.g. "return_window_changed". */
  action: string;
  /** The name of the value in the staff action's before/after, e.g. "returnWindowDays". */
  field: string;
  read(sql: Queryable, merchantId: bigint): Promise<T>;
  write(sql: Queryable, merchantId: bigint, value: T): Promise<void>;
}

/** Sets the merchant's setting and audits the change; answers the stored value. 404 when no such merchant. */
export async function changeMerchantSetting<T>(
  sql: Sql,
  request: FastifyRequest,
  merchantId: bigint,
  setting: MerchantSetting<T>,
  value: T,
): Promise<T> {
  const [m] = await sql`select 1 from merchants where id = ${merchantId}`;
  if (!m) throw notFound('merchant');
  await sql.begin(async (tx) => {
    const before = await setting.read(tx, merchantId);
    await setting.write(tx, merchantId, value);
    await recordStaffAction(tx, {
      actor: request.principal!,
      action: setting.action,
      recordType: 'merchant',
      recordId: merchantId.toString(),
      before: { [setting.field]: before },
      after: { [setting.field]: value },
    });
  });
  return setting.read(sql, merchantId);
}
