/**
 * The composition root: every long-lived service a fenqi process uses, built once from the process's
 * parts (openPlatform calls it). Routes, workers and commands receive what they need from here
 * instead of each keeping a registry of its own, so one process has exactly one of each and a test
 * can swap one (a payment gateway with faults, risk providers that answer slowly) in one place.
 */
import { PasswordResets } from './auth/password-reset.ts';
import { CredentialRevocations } from './auth/revocations.ts';
import { AuthThrottle } from './auth/throttle.ts';
import type { Cache } from './cache/cache.ts';
import { type CacheIntegrity, createCacheIntegrity } from './cache/integrity.ts';
import { type BusinessClock, createBusinessClock } from './clock.ts';
import type { Config } from './config.ts';
import type { Channel } from './domain/notifications.ts';
import type { Logger } from './logger.ts';
import {
  type MessageProvider,
  messageProvidersFromEnv,
  SimulatedMessageProvider,
} from './notify/providers.ts';
import {
  type CollectionGateway,
  collectionSimulatorFromEnv,
  SimulatedCollectionGateway,
} from './payments/collection.ts';
import { type PaymentGateway, SimulatedGateway } from './payments/gateway.ts';
import { HttpPayoutRail, type PayoutRail, SimulatedPayouts } from './payments/payouts.ts';
import { ProductReads } from './products/reads.ts';
import { DecisionService } from './risk/service/decide.ts';
import { simulatedProviders, simulatorOptionsFromEnv } from './risk/service/providers.ts';
import { createFieldCrypto, type FieldCrypto } from './store/crypto.ts';
import type { Database } from './store/db.ts';

/** The simulated gateway a process pays out through until a real one is configured. */
export const DEFAULT_GATEWAY_SEED = 1;
export const DEFAULT_GATEWAY_LATENCY_MS = 5;

export interface Services {
  /** Field encryption and blind-index keys for personal data. */
  crypto: FieldCrypto;
  /** Names and seals for cache entries that gate access (cache/integrity.ts). */
  cacheIntegrity: CacheIntegrity;
  /** Log-in and registration limits, counted in PostgreSQL (auth/throttle.ts). */
  authThrottle: AuthThrottle;
  /** Customers' sessions ended by a password reset (auth/revocations.ts). */
  revocations: CredentialRevocations;
  /** Forgot-password codes by SMS (auth/password-reset.ts). */
  passwordResets: PasswordResets;
  /** Credit decisions: identity cache, active models and policy, batched reads and writes. */
  risk: DecisionService;
  /** Cache-aside catalogue reads shared by the products and quotes routes. */
  products: ProductReads;
  /** Where disbursements are paid; read at each use, so a test may replace it. */
  gateway: PaymentGateway;
  /** Where automatic debits are charged (payments/collection.ts); a test may replace it. */
  collection: CollectionGateway;
  /** Where the notifier sends SMS and app push (notify/providers.ts); a test may replace them. */
  messaging: Record<Channel, MessageProvider>;
  /** What "today" is for every business date the process stamps (src/clock.ts). */
  clock: BusinessClock;
  /** Where merchants' settlements are paid (src/payments/payouts.ts); a test may replace it. */
  payouts: PayoutRail;
}

/** The simulated bank merchants are paid through until a payout rail is configured. */
export const DEFAULT_PAYOUT_SEED = 1;

/** The configured payout rail (FENQI_PAYOUT_URL), else the in-process simulated bank. */
export function createPayoutRail(config: Pick<Config, 'payoutUrl'>): PayoutRail {
  return config.payoutUrl
    ? new HttpPayoutRail(config.payoutUrl)
    : new SimulatedPayouts({ seed: DEFAULT_PAYOUT_SEED });
}

export interface ServiceParts {
  config: Config;
  logger: Logger;
  db: Database;
  cache: Cache;
  /**
   * The rehearsal's shadow side (docs/rehearsal.md): its SMS, push and payment gateway are fresh
   * in-process simulators, never a provider or a journal file production's are configured with.
   */
  shadow?: boolean;
}

/** The shadow side's simulators' seed (their draws need not match production's). */
export const SHADOW_SIMULATOR_SEED = 21;

function providers(parts: ServiceParts): Pick<Services, 'collection' | 'messaging'> {
  if (parts.shadow) {
    return {
      collection: new SimulatedCollectionGateway({ seed: SHADOW_SIMULATOR_SEED }),
      messaging: {
        sms: new SimulatedMessageProvider({ seed: SHADOW_SIMULATOR_SEED }),
        push: new SimulatedMessageProvider({ seed: SHADOW_SIMULATOR_SEED }),
      },
    };
  }
  return {
    collection: collectionSimulatorFromEnv(process.env),
    messaging: messageProvidersFromEnv(process.env),
  };
}

export function buildServices(parts: ServiceParts): Services {
  const { config, logger, db, cache } = parts;
  const crypto = createFieldCrypto(config);
  const clock = createBusinessClock(config, db.sql);
  const revocations = new CredentialRevocations(db.sql, config.accessTokenTtlS * 1000, logger);
  const services: Services = {
    crypto,
    cacheIntegrity: createCacheIntegrity(config.tokenSecret),
    authThrottle: new AuthThrottle(db.sql, config.blindIndexKey),
    revocations,
    passwordResets: new PasswordResets({
      sql: db.sql,
      crypto,
      sms: () => services.messaging.sms,
      revocations,
      logger,
    }),
    risk: new DecisionService({
      sql: db.sql,
      cache,
      crypto,
      logger,
      poolMax: config.databasePoolMax,
      providers: simulatedProviders(simulatorOptionsFromEnv(process.env)),
      today: () => clock.today(),
    }),
    products: new ProductReads(db.sql, cache),
    gateway: new SimulatedGateway({ seed: DEFAULT_GATEWAY_SEED, latencyMs: DEFAULT_GATEWAY_LATENCY_MS }),
    ...providers(parts),
    clock,
    payouts: createPayoutRail(config),
  };
  return services;
}
