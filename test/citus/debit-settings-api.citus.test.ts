// ../debit/settings-api.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../debit/settings-api.test.ts', import.meta.url));
