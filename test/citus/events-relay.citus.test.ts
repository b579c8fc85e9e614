// ../events/relay.test.ts on Citus (test/citus/matrix.ts): the outbox relay's claim and marking over
// every shard, one relay at a time, a relay dying mid-pass and a SIGKILLed worker losing no event.
import { runOnCitus } from './matrix.ts';

await runOnCitus(new URL('../events/relay.test.ts', import.meta.url));
