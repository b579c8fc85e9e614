/** Row ids in routes: bigint on the server, decimal strings on the wire (JSON has no 64-bit integer). */
import { Type } from 'typebox';

export const MAX_BIGINT_ID = 9_223_372_036_854_775_807n;

export const IdString = Type.String({
  pattern: '^\\d{1,19}$',
  description: 'a bigint id as a decimal string',
});

/** A path id as bigint, or undefined when it is beyond bigint (so: no such row). */
export function idFromPath(text: string): bigint | undefined {
  const id = BigInt(text);
  return id <= MAX_BIGINT_ID ? id : undefined;
}
