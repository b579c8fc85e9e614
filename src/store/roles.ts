/**
 * The database roles fenqi expects, and the grants that keep each to what it needs:
 * - owner: owns the schema; only migrations (`fenqi migrate`, MIGRATION_DATABASE_URL) use it;
 * - app: the API and workers; reads and writes rows (DML), never changes the schema;
 * - report: read-only, for reporting and support queries.
 * Used by the test harness and `fenqi ops up`, and printed by docs/security.md for production.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export interface DatabaseRoles {
  owner: string;
  app: string;
  report: string;
}

export const DEFAULT_DATABASE_ROLES: DatabaseRoles = {
  owner: 'fenqi_owner',
  app: 'fenqi_app',
  report: 'fenqi_report',
};

/** PostgreSQL's default SCRAM iteration count. */
export const SCRAM_ITERATIONS = 4096;
const SCRAM_SALT_BYTES = 16;

const ident = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain role or database name: ${name}`);
  return name;
};

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 7677), computed here so the
 * password itself never appears in a statement, a server log or pgaudit's record.
 */
export function scramVerifier(password: string, salt = randomBytes(SCRAM_SALT_BYTES)): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Cluster-wide: the three login roles (run once per server, as a superuser). */
export function createRolesSql(roles: DatabaseRoles, passwords: DatabaseRoles): string[] {
  const one = (role: string, password: string, extra = '') =>
    `create role ${ident(role)} login ${extra} password '${scramVerifier(password)}'`;
  return [
    one(roles.owner, passwords.owner),
    one(roles.app, passwords.app),
    one(roles.report, passwords.report),
    // reporting never writes, even by mistake
    `alter role ${ident(roles.report)} set default_transaction_read_only = on`,
  ];
}

/**
 * Per database, run inside it as a superuser: only the three roles may connect, and tables and
 * sequences the owner creates later (migrations) are granted to app and report by default.
 */
export function databaseGrantsSql(database: string, roles: DatabaseRoles): string[] {
  const { owner, app, report } = {
    owner: ident(roles.owner),
    app: ident(roles.app),
    report: ident(roles.report),
  };
  const db = ident(database);
  const defaults = `alter default privileges for role ${owner} in schema public grant`;
  return [
    `alter database ${db} owner to ${owner}`,
    `revoke all on database ${db} from public`,
    `grant connect on database ${db} to ${app}, ${report}`,
    `alter schema public owner to ${owner}`,
    `revoke create on schema public from public`,
    `grant usage on schema public to ${app}, ${report}`,
    `${defaults} select, insert, update, delete on tables to ${app}`,
    `${defaults} usage, select, update on sequences to ${app}`,
    `${defaults} select on tables to ${report}`,
    `${defaults} select on sequences to ${report}`,
    // and what migrations created before these grants existed
    `grant select, insert, update, delete on all tables in schema public to ${app}`,
    `grant usage, select, update on all sequences in schema public to ${app}`,
    `grant select on all tables in schema public to ${report}`,
  ];
}
