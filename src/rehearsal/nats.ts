/**
 * The rehearsal's NATS side: a separate account. Accounts are separate subject namespaces inside
 * one nats-server, each with its own JetStream, so the shadow side uses the same stream and subject
 * names and still cannot see, publish to or consume a production stream (nor production users a
 * shadow one). The shadow user has the platform's permissions inside its own account.
 */
import { NATS_USERS, type NatsPermissions, type NatsService, natsPermissions } from '../queue/permissions.ts';

export const PRODUCTION_ACCOUNT = 'FENQI';
export const SHADOW_ACCOUNT = 'FENQI_SHADOW';
export const NATS_SHADOW_USER = 'fenqi-shadow';

export interface NatsUserEntry {
  user: string;
  password: string;
  permissions: NatsPermissions;
}

export interface NatsAccounts {
  [account: string]: { jetstream: 'enabled'; users: NatsUserEntry[] };
}

/**
 * The `accounts` block of nats-server's configuration: production users (each service its own
 * permissions, plus any extra entries such as an operator's) in FENQI, the shadow user alone in
 * FENQI_SHADOW.
 */
export function natsAccounts(
  passwords: Partial<Record<NatsService, string>>,
  shadowPassword: string,
  extraProductionUsers: NatsUserEntry[] = [],
): NatsAccounts {
  const services = (Object.keys(passwords) as NatsService[]).filter((s) => passwords[s]);
  const production = services.map((s) => ({
    user: NATS_USERS[s],
    password: passwords[s] as string,
    permissions: natsPermissions(s),
  }));
  const shadow = {
    user: NATS_SHADOW_USER,
    password: shadowPassword,
    permissions: natsPermissions('platform', NATS_SHADOW_USER),
  };
  return {
    [PRODUCTION_ACCOUNT]: { jetstream: 'enabled', users: [...production, ...extraProductionUsers] },
    [SHADOW_ACCOUNT]: { jetstream: 'enabled', users: [shadow] },
  };
}
