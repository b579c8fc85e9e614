/**
 * Credit limits and the maker-checker rule (issue 14 item 5). A line or an approval above the
 * configured amount, or above the active policy's maximum line, is not applied by the one who asks
 * for it: it becomes a proposal a second staff member approves. Pure.
 */
import { invariant } from './errors.ts';

/** The largest credit line fenqi stores at all: 10,000,000.00 CNY. Anything above is a typo. */
export const CREDIT_LINE_MAX_MINOR = 1_000_000_000n;

export type SecondApproverReason = 'above_threshold' | 'above_policy_max';

/** Why this limit needs a second staff member, or undefined when one may apply it. */
export function secondApproverReason(
  limitMinor: bigint,
  rule: { thresholdMinor: bigint; policyMaxMinor: bigint },
): SecondApproverReason | undefined {
  invariant(limitMinor >= 0n && limitMinor <= CREDIT_LINE_MAX_MINOR, 'a limit is within the stored range');
  if (limitMinor > rule.policyMaxMinor) return 'above_policy_max';
  if (limitMinor > rule.thresholdMinor) return 'above_threshold';
  return undefined;
}
