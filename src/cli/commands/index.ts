import type { Command } from 'commander';
import { register as registerAudit } from './audit.ts';
import { register as registerBusinessDate } from './business-date.ts';
import { register as registerCob } from './cob.ts';
import { register as registerDb } from './db.ts';
import { register as registerKeys } from './keys.ts';
import { register as registerLedger } from './ledger.ts';
import { register as registerLoan } from './loan.ts';
import { register as registerMigrate } from './migrate.ts';
import { register as registerOps } from './ops.ts';
import { register as registerOrders } from './orders.ts';
import { register as registerQuote } from './quote.ts';
import { register as registerRehearse } from './rehearse.ts';
import { register as registerRisk } from './risk.ts';
import { register as registerSeed } from './seed.ts';
import { register as registerServe } from './serve.ts';
import { register as registerSettle } from './settle.ts';
import { register as registerWorker } from './worker.ts';

/** Every subcommand, in the order `fenqi --help` lists them. */
export function registerCommands(program: Command): void {
  registerServe(program);
  registerWorker(program);
  registerMigrate(program);
  registerKeys(program);
  registerSeed(program);
  registerRisk(program);
  registerQuote(program);
  registerCob(program);
  registerSettle(program);
  registerBusinessDate(program);
  registerLedger(program);
  registerDb(program);
  registerLoan(program);
  registerAudit(program);
  registerOrders(program);
  registerOps(program);
  registerRehearse(program);
}
