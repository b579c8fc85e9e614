/**
 * `fenqi seed demo`: the embedded mode's demo data on any database (once; prints the log-ins).
 * `fenqi seed staff --username NAME --role ops|risk`: the first staff user of a real deployment,
 * with a random password printed once (every later one is created by ops through POST /v1/staff).
 */
import type { Command } from 'commander';

export const STAFF_PASSWORD_BYTES = 18;

async function withPlatform<T>(
  work: (platform: import('../../platform.ts').Platform) => Promise<T>,
): Promise<T> {
  const { loadConfig } = await import('../../config.ts');
  const { createLogger } = await import('../../logger.ts');
  const { openPlatform } = await import('../../platform.ts');
  const config = loadConfig();
  const platform = await openPlatform(
    config,
    createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel),
  );
  try {
    return await work(platform);
  } finally {
    await platform.close();
  }
}

export function register(program: Command): void {
  const seed = program.command('seed').description('demo data and the first staff user');
  seed
    .command('demo')
    .description('seed demo merchants, goods, staff and a customer (once per database) and print the log-ins')
    .action(() =>
      withPlatform(async (platform) => {
        const { formatDemoCredentials, seedDemo } = await import('../../store/seed.ts');
        const demo = await seedDemo(platform.db.sql, platform.services.crypto);
        process.stdout.write(
          demo ? formatDemoCredentials(demo) : 'demo data is already seeded; nothing done\n',
        );
      }),
    );
  seed
    .command('staff')
    .description('create a staff user with a random password, printed once')
    .requiredOption('--username <name>', '3-32 of a-z 0-9 . _ -')
    .requiredOption('--role <role>', 'ops, risk or admin')
    .action(async (flags: { username: string; role: string }) => {
      const { UsageError } = await import('../usage-error.ts');
      const { createStaff, parseUsername, STAFF_ROLES } = await import('../../store/staff.ts');
      const username = parseUsername(flags.username);
      if (!username) throw new UsageError('--username must be 3-32 of a-z, 0-9, ".", "_" and "-"');
      const role = STAFF_ROLES.find((r) => r === flags.role);
      if (!role) throw new UsageError(`--role must be one of ${STAFF_ROLES.join(', ')}, got "${flags.role}"`);
      const { randomBytes } = await import('node:crypto');
      const { hashPassword } = await import('../../store/passwords.ts');
      const password = randomBytes(STAFF_PASSWORD_BYTES).toString('base64url');
      const passwordHash = await hashPassword(password);
      await withPlatform(async (platform) => {
        const { recordStaffAction } = await import('../../store/staff-audit.ts');
        const created = await platform.db.sql.begin(async (tx) => {
          const made = await createStaff(tx, { username, role, passwordHash });
          if (made.ok) {
            await recordStaffAction(tx, {
              actor: null,
              action: 'staff_created',
              recordType: 'staff',
              recordId: made.id.toString(),
              before: null,
              after: { id: made.id, username, role },
            });
          }
          return made;
        });
        if (!created.ok) throw new UsageError(`username "${username}" is taken`);
        process.stdout.write(`created ${role} user ${username} (id ${created.id}); password: ${password}\n`);
      });
    });
}
