// ../servicing/down-payment.test.ts on Citus (test/citus/matrix.ts).
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../servicing/down-payment.test.ts', import.meta.url));
