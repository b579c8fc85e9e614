/**
 * `fenqi keys rotate`: re-encrypts every personal field not under the current (highest) data key.
 * Batches of ROTATE_BATCH_SIZE customers, each in its own transaction, walked by id (keyset), so a
 * crash loses at most one uncommitted batch and a re-run continues where the last one stopped: rows
 * already under the current key are simply not selected again. Progress goes to stderr.
 *
 * Old keys must stay in FENQI_DATA_KEYS until this has finished; then they can be removed.
 * The blind-index key does not rotate here: see docs/security.md.
 */
import type { Command } from 'commander';

/** Customers re-encrypted per transaction: small enough to keep locks short, big enough to be quick. */
export const ROTATE_BATCH_SIZE = 500;
/** A progress line at least this often when stderr is not a terminal. */
export const PROGRESS_EVERY_MS = 2_000;

interface RotateFlags {
  dryRun?: boolean;
  batchSize: string;
}

function progressWriter(total: number) {
  const startedMs = Date.now();
  let lastLineMs = 0;
  const tty = process.stderr.isTTY === true;
  return (done: number, final = false) => {
    const now = Date.now();
    if (!final && !tty && now - lastLineMs < PROGRESS_EVERY_MS) return;
    lastLineMs = now;
    const rate = Math.round((done * 1000) / Math.max(1, now - startedMs));
    const share = total === 0 ? 1 : Math.min(1, done / total);
    if (tty) {
      const width = 30;
      const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '.');
      process.stderr.write(`\r[${bar}] ${done}/${total} customers, ${rate}/s${final ? '\n' : ''}`);
    } else {
      process.stderr.write(`rotated ${done}/${total} customers (${Math.round(share * 100)}%), ${rate}/s\n`);
    }
  };
}

async function rotate(flags: RotateFlags): Promise<void> {
  const { UsageError } = await import('../usage-error.ts');
  const batchSize = Number(flags.batchSize);
  if (!/^\d+$/.test(flags.batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new UsageError(`--batch-size must be a whole number from 1 to 10000, got "${flags.batchSize}"`);
  }
  const { loadConfig } = await import('../../config.ts');
  const { openDatabase } = await import('../../store/db.ts');
  const { migrate } = await import('../../store/migrate.ts');
  const { createFieldCrypto } = await import('../../store/crypto.ts');
  const { countCustomersNotUnderKey, countFieldsByKey, reencryptCustomerBatch } = await import(
    '../../store/customers.ts'
  );

  const config = loadConfig();
  const crypto = createFieldCrypto(config);
  const current = crypto.cipher.currentKeyId;
  const db = await openDatabase(config);
  try {
    await migrate(db.sql);
    const byKey = await countFieldsByKey(db.sql);
    const missing = [...byKey.keys()].filter((id) => !config.dataKeys.has(id));
    if (missing.length > 0) {
      throw new UsageError(
        `fields are stored under key id(s) ${missing.join(', ')}, which FENQI_DATA_KEYS does not hold; add them`,
      );
    }
    const total = await countCustomersNotUnderKey(db.sql, current);
    const summary = [...byKey].map(([id, n]) => `key ${id}: ${n}`).join(', ') || 'no encrypted fields';
    process.stdout.write(`current key ${current}; fields by key: ${summary}\n`);
    if (flags.dryRun) {
      process.stdout.write(`dry run: ${total} customers have fields to re-encrypt under key ${current}\n`);
      return;
    }
    const progress = progressWriter(total);
    let afterId = 0n;
    let rows = 0;
    let fields = 0;
    for (;;) {
      const batch = await db.sql.begin((tx) => reencryptCustomerBatch(tx, crypto, afterId, batchSize));
      rows += batch.rows;
      fields += batch.fields;
      progress(rows);
      if (batch.lastId === undefined || batch.rows < batchSize) break;
      afterId = batch.lastId;
    }
    progress(rows, true);
    process.stdout.write(`re-encrypted ${fields} fields of ${rows} customers under key ${current}\n`);
  } finally {
    await db.close();
  }
}

export function register(program: Command): void {
  const keys = program.command('keys').description('field-encryption keys');
  keys
    .command('rotate')
    .description('re-encrypt every personal field under the highest key id in FENQI_DATA_KEYS (resumable)')
    .option('--dry-run', 'only count what would be re-encrypted')
    .option('--batch-size <n>', 'customers per transaction', String(ROTATE_BATCH_SIZE))
    .action((flags: RotateFlags) => rotate(flags));
}
