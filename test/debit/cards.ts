/**
 * Cards on file for tests of automatic debit (the auto-debit test and the month on the business
 * clock): each customer gets a distinct card number, tokenised by the gateway the test holds; the
 * first card turns automatic debit on.
 */
import type { CollectionGateway } from '../../src/payments/collection.ts';
import type { Platform } from '../../src/platform.ts';
import { addCard } from '../../src/store/auto-debit.ts';

export async function giveCards(
  platform: Platform,
  customers: readonly bigint[],
  gateway: CollectionGateway,
): Promise<void> {
  for (const [i, customerId] of customers.entries()) {
    const number = `622202${String(100000000 + i).padStart(9, '0')}${String(customerId % 10000n).padStart(4, '0')}`;
    await platform.db.sql.begin(async (tx) =>
      addCard(tx, platform.services.crypto, customerId, number, await gateway.tokenize(number)),
    );
  }
}
