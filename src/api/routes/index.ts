import type { Platform } from '../../platform.ts';
import type { Metrics } from '../metrics.ts';
import type { Api } from '../types.ts';
import { auditRoutes } from './audit.ts';
import { authRoutes } from './auth.ts';
import { cobRoutes } from './cob.ts';
import { creditApplicationRoutes } from './credit-applications.ts';
import { creditLineRoutes } from './credit-lines.ts';
import { creditProposalRoutes } from './credit-proposals.ts';
import { customerRoutes } from './customers.ts';
import { deadLetterRoutes } from './dead-letters.ts';
import { goodsRoutes } from './goods.ts';
import { healthRoutes } from './health.ts';
import { loanRoutes } from './loans.ts';
import { merchantRoutes } from './merchants.ts';
import { opsSummaryRoutes } from './ops-summary.ts';
import { orderRoutes } from './orders.ts';
import { productRoutes } from './products.ts';
import { quoteRoutes } from './quotes.ts';
import { repaymentRoutes } from './repayments.ts';
import { riskAdminRoutes } from './risk-admin.ts';
import { staffRoutes } from './staff.ts';
import { webRoutes } from './web.ts';

/** Every route plugin of the API. Versioned business routes live under /v1. */
export async function registerRoutes(app: Api, platform: Platform, metrics: Metrics): Promise<void> {
  await app.register(healthRoutes(platform, metrics));
  await app.register(authRoutes(platform));
  await app.register(customerRoutes(platform));
  await app.register(staffRoutes(platform));
  await app.register(auditRoutes(platform));
  await app.register(merchantRoutes(platform));
  await app.register(goodsRoutes(platform));
  await app.register(productRoutes(platform));
  await app.register(quoteRoutes(platform));
  await app.register(creditLineRoutes(platform));
  await app.register(creditProposalRoutes(platform));
  await app.register(orderRoutes(platform));
  await app.register(deadLetterRoutes(platform));
  await app.register(loanRoutes(platform));
  await app.register(repaymentRoutes(platform));
  await app.register(creditApplicationRoutes(platform));
  await app.register(riskAdminRoutes(platform));
  await app.register(opsSummaryRoutes(platform));
  await app.register(cobRoutes(platform));
  await app.register(webRoutes());
}
