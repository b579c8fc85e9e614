/**
 * The rehearsal's PostgreSQL side: a schema of its own and a login role that can reach only it.
 * The shadow role gets no grant on a production table and the app role no usage of the shadow
 * schema, so a query that reaches the wrong side is refused by PostgreSQL itself, whatever the code
 * path. The role's search_path is fixed server-side, so the same SQL lands in the shadow tables.
 */
import { type DatabaseRoles, scramVerifier } from '../store/roles.ts';

export const SHADOW_SCHEMA = 'fenqi_shadow';
export const SHADOW_DATABASE_ROLE = 'fenqi_shadow';

const ident = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain role or schema name: ${name}`);
  return name;
};

/** Cluster-wide, as a superuser: the shadow login role, confined to its schema by search_path. */
export function createShadowRoleSql(password: string, role = SHADOW_DATABASE_ROLE): string[] {
  return [
    `create role ${ident(role)} login password '${scramVerifier(password)}'`,
    `alter role ${ident(role)} set search_path = ${SHADOW_SCHEMA}`,
  ];
}

/**
 * Per database, as a superuser: the owner owns the shadow schema (migrations run into it with
 * search_path set), only the shadow role may use it, and the shadow role may not create anything
 * in public nor reach its tables (it was never granted them: defaults there name the app role).
 */
export function shadowSchemaGrantsSql(
  database: string,
  roles: DatabaseRoles,
  role = SHADOW_DATABASE_ROLE,
): string[] {
  const owner = ident(roles.owner);
  const shadow = ident(role);
  const defaults = `alter default privileges for role ${owner} in schema ${SHADOW_SCHEMA} grant`;
  return [
    `create schema if not exists ${SHADOW_SCHEMA} authorization ${owner}`,
    `revoke all on schema ${SHADOW_SCHEMA} from public`,
    `grant connect on database ${ident(database)} to ${shadow}`,
    `grant usage on schema ${SHADOW_SCHEMA} to ${shadow}`,
    `${defaults} select, insert, update, delete on tables to ${shadow}`,
    `${defaults} usage, select, update on sequences to ${shadow}`,
    `${defaults} execute on functions to ${shadow}`,
    `revoke all on all tables in schema public from ${shadow}`,
  ];
}

/** The owner's URL with the shadow schema first, so migrations create the shadow tables. */
export function shadowMigrationUrl(ownerUrl: string): string {
  const joiner = ownerUrl.includes('?') ? '&' : '?';
  return `${ownerUrl}${joiner}search_path=${SHADOW_SCHEMA}`;
}

/**
 * On a Citus coordinator, as a superuser in the application's database: the shadow role's password
 * for Citus's own links to the workers (where the role was propagated when it was created in this
 * database), as every fenqi role has one.
 */
export function shadowCitusAuthinfoSql(password: string, role = SHADOW_DATABASE_ROLE): string {
  if (/'/.test(password)) throw new Error('a password with a quote cannot go into pg_dist_authinfo');
  return `insert into pg_dist_authinfo (nodeid, rolename, authinfo) values (0, '${ident(role)}', 'password=${password}')
    on conflict (nodeid, rolename) do update set authinfo = excluded.authinfo`;
}
