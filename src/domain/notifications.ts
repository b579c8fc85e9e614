/**
 * What the notifier tells a customer about each event, in which language, and when: templates in
 * zh-CN (the default) and English, quiet hours in business time (deferred, never dropped; security
 * messages exempt), a daily cap per customer and the send retry limit. Pure: the notifier
 * (workers/notifier.ts, store/notifications.ts) applies it. Texts carry amounts and dates only,
 * never a personal field.
 */
import type { EventType } from './events.ts';
import { formatAmount } from './money.ts';

export type Language = 'zh-CN' | 'en';
export const DEFAULT_LANGUAGE: Language = 'zh-CN';
export type Channel = 'sms' | 'push';
export const CHANNELS: readonly Channel[] = ['sms', 'push'];

/** No message 21:00-08:00 business time, except security ones. */
export const QUIET_HOURS_START_HOUR = 21;
export const QUIET_HOURS_END_HOUR = 8;
/** At most this many messages (all channels) sent to one customer per business day. */
export const DAILY_MESSAGE_CAP_PER_CUSTOMER = 12;
/** A send that fails is tried again after this long, this many times at most. */
export const SEND_RETRY_DELAY_MS = 60_000;
export const SEND_MAX_ATTEMPTS = 5;

export type TemplateName =
  | 'due_in_3_days'
  | 'due_today'
  | 'debit_failed'
  | 'overdue'
  | 'payment_received'
  | 'order_settled'
  | 'order_refused'
  | 'return_processed'
  | 'statement_ready'
  // sent straight through the SMS provider by the forgot-password flow (auth/password-reset.ts)
  | 'password_reset_code';

export interface TemplateSpec {
  name: TemplateName;
  /** Security messages ignore quiet hours (the password-reset code is one). */
  security: boolean;
  /** Marketing messages honour the unsubscribe flag (none is sent now; security ones never do). */
  marketing: boolean;
}

const plain = (name: TemplateName): TemplateSpec => ({ name, security: false, marketing: false });

/** The template an event is told with; events not listed send nothing. */
export const TEMPLATE_OF: Partial<Record<EventType, TemplateSpec>> = {
  'installment.due_soon': plain('due_in_3_days'),
  'installment.due_today': plain('due_today'),
  'debit.failed': plain('debit_failed'),
  'installment.overdue': plain('overdue'),
  'repayment.received': plain('payment_received'),
  'order.settled': plain('order_settled'),
  'order.refused': plain('order_refused'),
  'goods.returned': plain('return_processed'),
  'statement.ready': plain('statement_ready'),
};

/**
 * The forgot-password code: a security message, so it goes out at once (quiet hours do not hold it,
 * the daily cap does not count it) and the marketing opt-out does not apply. It is not an event's
 * message: the code must never be stored in the clear, so it is not queued in `notifications`.
 */
export const PASSWORD_RESET_MESSAGE: TemplateSpec = {
  name: 'password_reset_code',
  security: true,
  marketing: false,
};

type Vars = Readonly<Record<string, unknown>>;
const yuan = (v: unknown) => (typeof v === 'string' && /^-?\d+$/.test(v) ? formatAmount(BigInt(v), 2) : '-');
const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '-');

const TEMPLATES: Record<TemplateName, Record<Language, (p: Vars) => string>> = {
  due_in_3_days: {
    'zh-CN': (p) =>
      `【分期】您的账单将于${text(p.due_date)}到期，应还¥${yuan(p.amount_due_minor)}，请保证银行卡余额充足。`,
    en: (p) =>
      `[fenqi] CNY ${yuan(p.amount_due_minor)} is due on ${text(p.due_date)}. Please keep enough in your card.`,
  },
  due_today: {
    'zh-CN': (p) => `【分期】今日为还款日，应还¥${yuan(p.amount_due_minor)}，将从您的银行卡自动扣款。`,
    en: (p) => `[fenqi] CNY ${yuan(p.amount_due_minor)} is due today and will be debited from your card.`,
  },
  debit_failed: {
    'zh-CN': (p) => `【分期】自动扣款¥${yuan(p.amount_minor)}未成功，请尽快还款以免逾期。`,
    en: (p) =>
      `[fenqi] The automatic debit of CNY ${yuan(p.amount_minor)} failed. Please pay to avoid late fees.`,
  },
  overdue: {
    'zh-CN': (p) =>
      `【分期】您的账单已逾期${text(p.days_overdue)}天，应还¥${yuan(p.amount_due_minor)}，请尽快还款。`,
    en: (p) =>
      `[fenqi] Your payment is ${text(p.days_overdue)} day(s) overdue: CNY ${yuan(p.amount_due_minor)}. Please pay now.`,
  },
  payment_received: {
    'zh-CN': (p) => `【分期】已收到您的还款¥${yuan(p.amount_minor)}，感谢。`,
    en: (p) => `[fenqi] We received your payment of CNY ${yuan(p.amount_minor)}. Thank you.`,
  },
  order_settled: {
    'zh-CN': (p) => `【分期】您的分期订单已成功，金额¥${yuan(p.price_minor)}。`,
    en: (p) => `[fenqi] Your installment order of CNY ${yuan(p.price_minor)} is confirmed.`,
  },
  order_refused: {
    'zh-CN': () => '【分期】很抱歉，您的分期订单未通过。',
    en: () => '[fenqi] Sorry, your installment order could not be approved.',
  },
  return_processed: {
    'zh-CN': (p) => `【分期】您的退货已处理，退回¥${yuan(p.returned_minor)}。`,
    en: (p) => `[fenqi] Your return was processed: CNY ${yuan(p.returned_minor)}.`,
  },
  password_reset_code: {
    'zh-CN': (p) =>
      `【分期】您正在重置密码，验证码${text(p.code)}，${text(p.minutes)}分钟内有效。如非本人操作，请忽略并勿告知他人。`,
    en: (p) =>
      `[fenqi] Your password reset code is ${text(p.code)}, valid for ${text(p.minutes)} minutes. If you did not ask for it, ignore this and tell no one.`,
  },
  statement_ready: {
    'zh-CN': (p) => `【分期】您的本期账单已出，应还¥${yuan(p.total_due_minor)}，还款日${text(p.due_date)}。`,
    en: (p) => `[fenqi] Your bill is ready: CNY ${yuan(p.total_due_minor)} due on ${text(p.due_date)}.`,
  },
};

export function renderMessage(template: TemplateName, language: Language, payload: Vars): string {
  return TEMPLATES[template][language](payload);
}

export function isLanguage(v: string): v is Language {
  return v === 'zh-CN' || v === 'en';
}

/**
 * Minutes to wait from `minuteOfDay` (business time, 0..1439) until quiet hours end; 0 outside
 * them. A window whose start equals its end is no window.
 */
export function quietDelayMinutes(
  minuteOfDay: number,
  startHour = QUIET_HOURS_START_HOUR,
  endHour = QUIET_HOURS_END_HOUR,
): number {
  if (startHour === endHour) return 0;
  const start = startHour * 60;
  const end = endHour * 60;
  const inQuiet =
    start > end ? minuteOfDay >= start || minuteOfDay < end : minuteOfDay >= start && minuteOfDay < end;
  if (!inQuiet) return 0;
  return (end - minuteOfDay + 1440) % 1440;
}
