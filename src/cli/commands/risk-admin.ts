/**
 * Risk administration from the command line, the same store functions as the API's
 * /v1/risk/policies and /v1/risk/deny-list routes:
 *   fenqi risk policy list|show|publish|activate
 *   fenqi risk deny add|remove|check|list
 * They connect like every platform command (DATABASE_URL, or the embedded data directory) and
 * need the API's FENQI_BLIND_INDEX_KEY for the deny list. A change is audited under the risk staff
 * member named by `--as USERNAME` (checked to exist with the risk role), or with no staff id when
 * it is left out (the operator holds database credentials, not a staff login). Running APIs pick up a policy within ACTIVE_REFRESH_MS; a deny-list change applies to the
 * next decision.
 */
import type { Command } from 'commander';
import { withDatabase } from '../database.ts';
import { readJsonFile } from '../json-file.ts';
import { UsageError } from '../usage-error.ts';

const out = (line = ''): boolean => process.stdout.write(`${line}\n`);
const MAX_VERSION = 2_147_483_647;
const DEFAULT_LIST_LIMIT = 20;

function positive(name: string, text: string, max: number): number {
  if (!/^\d{1,10}$/.test(text.trim()) || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(`${name} must be an integer from 1 to ${max}, got "${text}"`);
  }
  return Number(text);
}

function requiredNote(note: string | undefined, max: number): string {
  const text = note?.trim() ?? '';
  if (text.length === 0) throw new UsageError('--note is required: say why');
  if (text.length > max) throw new UsageError(`--note is at most ${max} characters`);
  return text;
}

/** The risk staff member a change is recorded under, or null without --as. */
async function actingStaff(sql: import('../../store/db.ts').Queryable, username: string | undefined) {
  if (username === undefined) return null;
  const { findStaffByUsername } = await import('../../store/staff.ts');
  const staff = await findStaffByUsername(sql, username.trim());
  if (!staff || staff.role !== 'risk')
    throw new UsageError(`--as ${username}: no risk staff member by that name`);
  return staff.id;
}

/** The policy in a file: a bare policy document, or what `policy show --json` prints. */
function policyIn(file: string): unknown {
  const json = readJsonFile(file, 'policy');
  if (json && typeof json === 'object' && !('rules' in json) && 'policy' in json) {
    return (json as { policy: unknown }).policy;
  }
  return json;
}

async function listPolicies(flags: { limit: string; json?: boolean }) {
  const { listPolicyVersions, POLICY_PAGE_MAX } = await import('../../store/policies.ts');
  const limit = positive('--limit', flags.limit, POLICY_PAGE_MAX);
  await withDatabase(async (db) => {
    const versions = await listPolicyVersions(db.sql, limit, null);
    if (flags.json) {
      out(
        JSON.stringify(
          versions.map((v) => ({
            version: v.version,
            active: v.active,
            note: v.note,
            published_by: v.publishedBy?.toString() ?? null,
            created_at: v.createdAt.toISOString(),
          })),
        ),
      );
      return;
    }
    out('version  active  created              by          note');
    for (const v of versions) {
      out(
        `${String(v.version).padStart(7)}  ${(v.active ? 'yes' : '').padEnd(6)}  ${v.createdAt.toISOString().slice(0, 19)}  ${(v.publishedBy?.toString() ?? 'cli').padEnd(10)}  ${v.note}`,
      );
    }
  });
}

async function showPolicy(flags: { version?: string; json?: boolean }) {
  const { getPolicyVersion } = await import('../../store/policies.ts');
  const version = flags.version === undefined ? 'active' : positive('--version', flags.version, MAX_VERSION);
  await withDatabase(async (db) => {
    const found = await getPolicyVersion(db.sql, version);
    if (!found) {
      throw new UsageError(version === 'active' ? 'no active policy yet' : `no policy version ${version}`);
    }
    if (flags.json) {
      // one line, so `policy show --json > p.json`, edit, `policy publish p.json` round-trips
      out(
        JSON.stringify({
          version: found.version,
          active: found.active,
          note: found.note,
          published_by: found.publishedBy?.toString() ?? null,
          created_at: found.createdAt.toISOString(),
          policy: found.policy,
        }),
      );
      return;
    }
    const p = found.policy;
    out(
      `policy version ${found.version}${found.active ? ' (active)' : ''}, ${found.createdAt.toISOString().slice(0, 19)}: ${found.note}`,
    );
    out();
    out('rule                      fires when                         action   fact unknown');
    for (const r of p.rules) {
      out(
        `${r.code.padEnd(24)}  ${`${r.fact} ${r.op} ${r.value}`.padEnd(33)}  ${r.action.padEnd(7)}  ${r.whenMissing}`,
      );
    }
    out();
    out(`approve grades ${p.approveGrades.join(' ') || '-'}; refer grades ${p.referGrades.join(' ') || '-'}`);
    out(
      `line: income × ${Object.entries(p.line.incomeMultipleBp)
        .map(([g, bp]) => `${g} ${bp / 10_000}`)
        .join(
          ', ',
        )}; min ${p.line.minLineMinor}, max ${p.line.maxLineMinor}, round ${p.line.roundMinor} (fen)`,
    );
    for (const [source, d] of Object.entries(p.degradation)) {
      out(
        `${source} missing: refer within ${d.referMarginPoints} points of the cut-off, else line × ${d.lineFactorBp}bp`,
      );
    }
  });
}

async function publishCommand(file: string, flags: { note?: string; as?: string }) {
  const { publishPolicy, POLICY_NOTE_MAX_LENGTH } = await import('../../store/policies.ts');
  const { checkPolicy, PolicyError } = await import('../../risk/model/policy.ts');
  const note = requiredNote(flags.note, POLICY_NOTE_MAX_LENGTH);
  let policy: ReturnType<typeof checkPolicy>;
  try {
    policy = checkPolicy(policyIn(file));
  } catch (err) {
    if (err instanceof PolicyError) throw new UsageError(`${file}: ${err.message}`);
    throw err;
  }
  await withDatabase(async (db) => {
    const version = await publishPolicy(db.sql, policy, note, await actingStaff(db.sql, flags.as));
    out(`published policy version ${version} (active; running APIs pick it up within seconds)`);
    out(JSON.stringify({ version }));
  });
}

async function activateCommand(versionText: string, flags: { note?: string; as?: string }) {
  const { activatePolicyIn, POLICY_NOTE_MAX_LENGTH } = await import('../../store/policies.ts');
  const version = positive('policy version', versionText, MAX_VERSION);
  const note = requiredNote(flags.note, POLICY_NOTE_MAX_LENGTH);
  await withDatabase(async (db) => {
    const staffId = await actingStaff(db.sql, flags.as);
    const done = await db.sql.begin((tx) =>
      activatePolicyIn(tx, version, `rollback to version ${version}: ${note}`, staffId),
    );
    if (!done.ok) {
      throw new UsageError(
        done.problem === 'not_found' ? `no policy version ${version}` : `policy version ${version} is active`,
      );
    }
    out(`policy version ${version} copied into version ${done.policy.version}, now active`);
    out(JSON.stringify({ version: done.policy.version, copied_from: version }));
  });
}

interface DenyFlags {
  phone?: string;
  nationalId?: string;
  reason?: string;
  as?: string;
}

/** The one value named by --phone or --national-id, as its blind-index key (never printed). */
async function denyKeyFrom(flags: DenyFlags) {
  if ((flags.phone === undefined) === (flags.nationalId === undefined)) {
    throw new UsageError('give exactly one of --phone or --national-id');
  }
  const { loadConfig } = await import('../../config.ts');
  const { denyKeyOf } = await import('../../store/deny-list.ts');
  const kind = flags.phone !== undefined ? 'phone' : 'national_id';
  const key = denyKeyOf(loadConfig().blindIndexKey, kind, (flags.phone ?? flags.nationalId)!);
  if (!key) {
    throw new UsageError(
      kind === 'phone'
        ? '--phone must be a mobile number: 11 digits starting with 1'
        : '--national-id must be 18 characters with a valid birth date and check character',
    );
  }
  return key;
}

const entryLine = (e: { kind: string; fingerprint: string; reason: string; createdAt: Date }) =>
  `${e.kind.padEnd(11)}  ${e.fingerprint}  ${e.createdAt.toISOString().slice(0, 19)}  ${e.reason}`;

async function denyAdd(flags: DenyFlags) {
  const { addDenyEntry, DENY_REASON_MAX_LENGTH } = await import('../../store/deny-list.ts');
  const reason = flags.reason?.trim() ?? '';
  if (reason.length === 0 || reason.length > DENY_REASON_MAX_LENGTH) {
    throw new UsageError(`--reason is required, at most ${DENY_REASON_MAX_LENGTH} characters`);
  }
  const key = await denyKeyFrom(flags);
  await withDatabase(async (db) => {
    const staffId = await actingStaff(db.sql, flags.as);
    const added = await db.sql.begin((tx) => addDenyEntry(tx, key, reason, staffId));
    out(`${added.created ? 'added' : 'already listed'}: ${entryLine(added.entry)}`);
  });
}

async function denyRemove(flags: DenyFlags) {
  const { removeDenyEntry } = await import('../../store/deny-list.ts');
  const key = await denyKeyFrom(flags);
  await withDatabase(async (db) => {
    const staffId = await actingStaff(db.sql, flags.as);
    const removed = await db.sql.begin((tx) => removeDenyEntry(tx, key, staffId, flags.reason?.trim() ?? ''));
    if (!removed) throw new Error(`this ${key.kind} is not on the deny list`);
    out(`removed: ${entryLine(removed)}`);
  });
}

async function denyCheck(flags: DenyFlags) {
  const { findDenyEntry } = await import('../../store/deny-list.ts');
  const key = await denyKeyFrom(flags);
  await withDatabase(async (db) => {
    const found = await findDenyEntry(db.sql, key);
    out(found ? `listed: ${entryLine(found)}` : 'not listed');
  });
}

async function denyList(flags: { limit: string; json?: boolean }) {
  const { listDenyEntries, DENY_LIST_PAGE_MAX } = await import('../../store/deny-list.ts');
  const limit = positive('--limit', flags.limit, DENY_LIST_PAGE_MAX);
  await withDatabase(async (db) => {
    const entries = await listDenyEntries(db.sql, limit, null);
    if (flags.json) {
      out(
        JSON.stringify(
          entries.map((e) => ({
            kind: e.kind,
            fingerprint: e.fingerprint,
            reason: e.reason,
            added_by: e.addedBy?.toString() ?? null,
            created_at: e.createdAt.toISOString(),
          })),
        ),
      );
      return;
    }
    out('kind         print     added                reason');
    for (const e of entries) out(entryLine(e));
  });
}

/** Adds `fenqi risk policy ...` and `fenqi risk deny ...`. */
export function registerAdminCommands(risk: Command): void {
  const policy = risk
    .command('policy')
    .description('hard rules and line policy: list, show, publish, roll back');
  policy
    .command('list')
    .description('policy versions, newest first')
    .option('--limit <n>', 'how many', String(DEFAULT_LIST_LIMIT))
    .option('--json', 'print the list as one JSON line')
    .action(listPolicies);
  policy
    .command('show')
    .description('a policy version (default: the active one)')
    .option('--version <n>', 'policy version')
    .option('--json', 'print the version and its document as one JSON line (publishable as is)')
    .action(showPolicy);
  policy
    .command('publish')
    .description('check a policy JSON file and make it the new active version')
    .argument('<file>', 'policy JSON: a document, or the output of `policy show --json`')
    .option('--note <text>', 'why (required)')
    .option('--as <username>', 'the risk staff member the change is audited under')
    .action(publishCommand);
  policy
    .command('activate')
    .description('roll back: copy an earlier version into a new active version')
    .argument('<version>')
    .option('--note <text>', 'why (required)')
    .option('--as <username>', 'the risk staff member the change is audited under')
    .action(activateCommand);

  const deny = risk
    .command('deny')
    .description('the deny list (phones and national ids, stored as blind indexes)');
  const target = (c: Command) =>
    c
      .option('--phone <number>', 'a mobile number')
      .option('--national-id <number>', 'an 18-character national id number');
  target(deny.command('add').description('decline applications from this phone or national id'))
    .option('--reason <text>', 'why, for staff; no personal data (required)')
    .option('--as <username>', 'the risk staff member the change is audited under')
    .action(denyAdd);
  target(deny.command('remove').description('take a phone or national id off the deny list'))
    .option('--reason <text>', 'why')
    .option('--as <username>', 'the risk staff member the change is audited under')
    .action(denyRemove);
  target(deny.command('check').description('is this phone or national id listed?')).action(denyCheck);
  deny
    .command('list')
    .description('entries, newest first: kind, fingerprint, reason (never the value)')
    .option('--limit <n>', 'how many', String(DEFAULT_LIST_LIMIT))
    .option('--json', 'print the list as one JSON line')
    .action(denyList);
}
