// ../lending/ledger-invariants.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../lending/ledger-invariants.test.ts', import.meta.url));
