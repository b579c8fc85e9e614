/**
 * The `fenqi` command line. Each subcommand lives in src/cli/commands/<name>.ts and exports
 * `register(program)`; heavy modules are imported inside actions so `fenqi --help` stays fast.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.ts';
import { DataDirInUseError } from '../store/data-dir.ts';
import { registerCommands } from './commands/index.ts';
import { UsageError } from './usage-error.ts';

/** Exit codes: 1 runtime failure, 2 usage error (bad flag or value, or a data directory in use). */
export const EXIT_USAGE = 2;

const program = new Command('fenqi')
  .description('fenqi installment-credit platform')
  .showHelpAfterError(false)
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text.split('\n')[0] + '\n') });

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // help and version "errors" are normal exits
    process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_USAGE);
  }
  if (err instanceof DataDirInUseError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(EXIT_USAGE);
  }
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(EXIT_USAGE);
  }
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
