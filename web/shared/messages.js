/**
 * The platform's error codes as plain sentences, Chinese first, English second, for both apps.
 * Importing this module registers them with ./i18n.js; errorMessage(code) is the sentence a person
 * reads. A code with no sentence falls back to a general one (never the code itself), so a new code
 * on the API never shows a borrower an internal name. The code stays on the page only as a data
 * attribute (errorBox in ./dom.js), for support and tests.
 */
import { has, register, t } from './i18n.js';

/** code → [zh-CN, en]. Codes come from src/api/error-codes.ts plus the pages' own (NETWORK_ERROR…). */
const SENTENCES = {
  // money rules and amounts
  INVALID_AMOUNT: [
    '金额格式不对，请填写数字，最多两位小数。',
    'Please enter an amount in numbers, with at most two decimals.',
  ],
  INVALID_RATE: ['利率不符合要求。', 'That interest rate is not allowed.'],
  INVALID_DATE: ['日期不对，请检查后再试。', 'That date is not valid; please check it.'],
  DATE_OUT_OF_RANGE: ['这个日期不在允许的范围内。', 'That date is outside the allowed range.'],
  INVALID_TERMS: ['这个分期方案暂时不可用。', 'This installment plan is not available.'],
  INVALID_PRODUCT: ['这个分期方案暂时不可用。', 'This installment plan is not available.'],
  ROUNDING_TOO_COARSE: ['这个分期方案暂时不可用。', 'This installment plan is not available.'],
  APR_CAP_EXCEEDED: [
    '这个分期方案的利率超过上限，暂不可用。',
    'This plan’s rate is above the legal cap, so it is not offered.',
  ],
  APR_NOT_FOUND: ['这个分期方案暂时不可用。', 'This installment plan is not available.'],
  TENOR_NOT_ALLOWED: [
    '这个期数不可选，请换一个期数。',
    'That number of installments is not offered; please pick another.',
  ],
  PRINCIPAL_OUT_OF_RANGE: [
    '金额不在这个分期方案允许的范围内。',
    'The amount is outside what this plan allows.',
  ],
  PRODUCT_INACTIVE: ['这个分期方案已下线。', 'This installment plan is no longer offered.'],
  PENALTY_OUTSTANDING: ['请先付清逾期费用。', 'Please pay the late fees first.'],
  NOTHING_PAST_DUE: ['您没有逾期的款项。', 'Nothing is past due.'],
  NOTHING_TO_RESCHEDULE: ['没有可以调整的还款计划。', 'There is nothing to reschedule.'],
  // lending
  NO_CREDIT_LINE: ['您还没有额度，请先申请额度。', 'You have no credit line yet; apply for credit first.'],
  CREDIT_LINE_FROZEN: [
    '您的额度已被冻结，暂时不能下单。请联系客服。',
    'Your credit line is frozen, so you cannot order now. Please contact us.',
  ],
  INSUFFICIENT_CREDIT: [
    '可用额度不足，请选择更便宜的商品或先还款。',
    'Not enough available credit: choose something cheaper or repay first.',
  ],
  LIMIT_BELOW_USED: ['额度不能低于已用金额。', 'The limit cannot be below what is already used.'],
  CUSTOMER_NOT_FOUND: ['没有找到这个账户。', 'We could not find that account.'],
  CUSTOMER_NOT_ACTIVE: ['您的账户暂不可用，请联系客服。', 'Your account is not active; please contact us.'],
  CUSTOMER_PAST_DUE: [
    '您有逾期未还的款项，还清之前不能下新订单。',
    'You have a payment past due. You can order again once it is paid.',
  ],
  GOODS_NOT_FOUND: ['这件商品不存在或已下架。', 'This item is not available.'],
  GOODS_INACTIVE: ['这件商品已下架。', 'This item is no longer for sale.'],
  MERCHANT_SUSPENDED: ['这家商户暂停销售。', 'This shop is not selling right now.'],
  PRODUCT_NOT_FOUND: ['这个分期方案不存在。', 'This installment plan does not exist.'],
  PRODUCT_KIND_MISMATCH: ['这个分期方案不适用于这笔购买。', 'This plan does not apply to this purchase.'],
  PRODUCT_NOT_ZERO_DOWN: [
    '这个分期方案需要首付，暂不支持。',
    'This plan needs a down payment, which is not supported yet.',
  ],
  BANK_CARD_REQUIRED: ['借现金需要先绑定银行卡。', 'Add a bank card before borrowing cash.'],
  LOAN_NOT_FOUND: ['没有找到这笔借款。', 'We could not find that loan.'],
  LOAN_NOT_ACTIVE: [
    '这笔借款已结清或已关闭，无需再还款。',
    'This loan is paid off or closed; nothing more to pay.',
  ],
  OVERPAYMENT: [
    '还款金额超过了欠款，请按提示的金额还款。',
    'That is more than you owe; please pay the amount shown.',
  ],
  OVERPAYMENT_TOO_LARGE: [
    '还款金额超过了欠款，请按提示的金额还款。',
    'That is more than you owe; please pay the amount shown.',
  ],
  LIMIT_OUT_OF_RANGE: ['额度不在允许的范围内。', 'That limit is outside the allowed range.'],
  SCHEDULE_CHANGED: [
    '还款计划刚刚有变化，请刷新后再试。',
    'Your schedule just changed; please reload and try again.',
  ],
  SCHEDULE_CHANGE_NOT_SUPPORTED: ['这笔借款不能调整还款计划。', 'This loan’s schedule cannot be changed.'],
  ORDER_NOT_RETURNABLE: ['这笔订单不能退货。', 'This order cannot be returned.'],
  RETURN_WINDOW_CLOSED: ['已过退货期限。', 'The return period is over.'],
  RETURN_EXCEEDS_ORDER: ['退货金额超过了订单金额。', 'The return is larger than the order.'],
  INVALID_RETURN_AMOUNT: ['退货金额不对。', 'That return amount is not valid.'],
  INSTALLMENT_NOT_FOUND: ['没有找到这一期。', 'We could not find that installment.'],
  CREDIT_BALANCE_TOO_LOW: ['余额不足。', 'The balance is too low.'],
  // the request itself
  VALIDATION_FAILED: [
    '填写的内容有误，请检查后再提交。',
    'Something in the form is not right; please check it.',
  ],
  MALFORMED_JSON: [
    '请求出错了，请刷新页面后再试。',
    'Something went wrong sending that; please reload and retry.',
  ],
  UNSTORABLE_TEXT: ['填写的内容含有无法保存的字符。', 'The text contains characters we cannot store.'],
  BODY_TOO_LARGE: ['填写的内容太长了。', 'That is too much text.'],
  URL_TOO_LONG: ['这个链接太长了。', 'That link is too long.'],
  ROUTE_NOT_FOUND: ['没有这个页面。', 'There is no such page.'],
  NOT_FOUND: ['没有找到您要的内容。', 'We could not find that.'],
  IDEMPOTENCY_KEY_REUSED: [
    '这个操作刚刚已提交过，请刷新查看结果。',
    'This was already sent; reload to see the result.',
  ],
  // who is asking
  UNAUTHORIZED: ['请先登录。', 'Please log in.'],
  INVALID_CREDENTIALS: [
    '手机号或密码不对，请重新输入。',
    'The mobile number or password is wrong; please try again.',
  ],
  FORBIDDEN: ['您没有权限进行这个操作。', 'You are not allowed to do this.'],
  NOT_A_CUSTOMER: ['工作人员请在运营后台登录。', 'Staff log in at the operations console.'],
  PHONE_TAKEN: [
    '这个手机号已注册，请直接登录或找回密码。',
    'This mobile number is already registered: log in or reset your password.',
  ],
  NATIONAL_ID_TAKEN: ['这个身份证号已注册。', 'This ID number is already registered.'],
  INVALID_PHONE: ['请填写11位中国大陆手机号。', 'Please enter an 11-digit mainland China mobile number.'],
  INVALID_NATIONAL_ID: ['身份证号不对，请检查。', 'That ID number is not valid; please check it.'],
  INVALID_LEGAL_NAME: ['请填写身份证上的姓名。', 'Please enter your name as on your ID card.'],
  INVALID_BANK_CARD: ['银行卡号不对，请检查。', 'That bank card number is not valid.'],
  INVALID_CODE: [
    '验证码不对或已过期，请重新获取。',
    'The verification code is wrong or expired; ask for a new one.',
  ],
  PASSWORD_TOO_SHORT: ['密码至少8位。', 'Use at least 8 characters for the password.'],
  AGREEMENT_REQUIRED: ['请先阅读并同意借款协议。', 'Please read and accept the loan agreement first.'],
  AGREEMENT_NOT_FOUND: [
    '没有找到您同意的借款协议，请重新阅读并同意。',
    'We could not find your acceptance of the agreement; please read and accept it again.',
  ],
  AGREEMENT_OUTDATED: [
    '借款协议已更新，请刷新页面，阅读新版协议后再同意。',
    'The loan agreement has changed; please reload the page, read the new one and accept it.',
  ],
  AGREEMENT_MISMATCH: [
    '您同意的协议对应的是另一个分期方案，请重新同意。',
    'The agreement you accepted was for another plan; please accept it again.',
  ],
  AGREEMENT_ALREADY_USED: [
    '这份协议已用于另一笔订单，请重新同意。',
    'That acceptance already covers another order; please accept the agreement again.',
  ],
  AMOUNT_TOO_LARGE: ['金额太大了。', 'That amount is too large.'],
  TERM_TOO_LONG: ['期限太长了。', 'That term is too long.'],
  INCOME_OUT_OF_RANGE: ['请填写合理的月收入。', 'Please enter a realistic monthly income.'],
  AMOUNT_OUT_OF_RANGE: ['金额不在允许的范围内。', 'That amount is outside the allowed range.'],
  DISBURSEMENT_FAILED: [
    '放款没有成功，钱没有转出，请稍后再试。',
    'The payout did not go through and no money moved; please try later.',
  ],
  ORDER_HELD_FOR_REVIEW: [
    '订单需要人工确认，请勿重复下单。',
    'Your order is being checked by a person; please do not order again.',
  ],
  REJECTED: ['订单没有通过。', 'The order was not accepted.'],
  // slow down / retry
  RATE_LIMITED: ['操作太频繁了，请稍等片刻再试。', 'Too many tries; please wait a moment.'],
  TOO_MANY_ATTEMPTS: ['尝试次数太多，请稍后再试。', 'Too many attempts; please try again later.'],
  NETWORK_ERROR: [
    '连接不上服务器，请检查网络后重试。',
    'We could not reach the server; check your connection and retry.',
  ],
  QUEUE_UNAVAILABLE: ['系统繁忙，请稍后再试。', 'We are busy right now; please try again shortly.'],
  DATABASE_UNAVAILABLE: ['系统繁忙，请稍后再试。', 'We are busy right now; please try again shortly.'],
  AUTH_UNAVAILABLE: ['系统繁忙，请稍后再试。', 'We are busy right now; please try again shortly.'],
  REHEARSAL_UNAVAILABLE: ['系统繁忙，请稍后再试。', 'We are busy right now; please try again shortly.'],
  OVERLOADED: ['系统繁忙，请稍后再试。', 'We are busy right now; please try again shortly.'],
  ORDER_STATUS_UNKNOWN: [
    '订单结果暂时未知，请勿重复下单，稍后在“我的借款”查看。',
    'We do not know the order’s result yet: do not order again; check My loans shortly.',
  ],
  INTERNAL: ['出了点问题，请稍后再试。', 'Something went wrong; please try again later.'],
};

/** The sentence for a code nobody wrote one for: plain, never the code. */
const FALLBACK = [
  '出了点问题，请稍后再试。如果一直这样，请联系客服。',
  'Something went wrong; please try again. If it keeps happening, contact us.',
];

const zh = { 'error.fallback': FALLBACK[0] };
const en = { 'error.fallback': FALLBACK[1] };
for (const [code, [z, e]] of Object.entries(SENTENCES)) {
  zh[`error.${code}`] = z;
  en[`error.${code}`] = e;
}
register({ 'zh-CN': zh, en });

/** The codes that have a sentence (tests check both locales cover them). */
export const KNOWN_CODES = Object.keys(SENTENCES);

/** The plain sentence for an error code in the current language; never the code itself. */
export function errorMessage(code) {
  const key = `error.${code}`;
  return has(key) ? t(key) : t('error.fallback');
}
