// ../lending/money-api.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../lending/money-api.test.ts', import.meta.url));
