/**
 * Quote engine throughput: full schedules (12-month annuity, APR included) built per second,
 * against the floor of a plain loop that only allocates the same number of rows. The ratio is
 * the cost of the money rules over bare allocation on this machine in this run, so it compares
 * across machines where a bare schedules-per-second figure would not.
 *
 *   npm run bench -- quote        (FENQI_BENCH_SECONDS sets each phase's length, default 0.7)
 */
import { buildSchedule, parsePercent, type ScheduleTermsInput } from '../src/domain/index.ts';

const PHASE_SECONDS = Number(process.env.FENQI_BENCH_SECONDS ?? 0.7);
const ROUNDS = 3;
const ROWS = 12;

const terms: ScheduleTermsInput = {
  principalMinor: 1_200_000n,
  rate: { fraction: parsePercent('24'), per: 'year' },
  tenor: ROWS,
  startDate: '2024-01-31',
  method: 'annuity',
};

interface Row {
  number: number;
  dueDate: string;
  principalMinor: bigint;
  interestMinor: bigint;
  feeMinor: bigint;
  totalMinor: bigint;
  balanceMinor: bigint;
}

/** Keeps results reachable so the JIT cannot drop the work. */
let sink = 0;

function floorBatch(count: number): void {
  for (let s = 0; s < count; s++) {
    const rows: Row[] = [];
    for (let k = 0; k < ROWS; k++) {
      rows.push({
        number: k + 1,
        dueDate: '2024-02-29',
        principalMinor: 0n,
        interestMinor: 0n,
        feeMinor: 0n,
        totalMinor: 0n,
        balanceMinor: 0n,
      });
    }
    sink += rows.length;
  }
}

function scheduleBatch(count: number): void {
  for (let s = 0; s < count; s++) sink += buildSchedule(terms).installments.length;
}

/** Runs `batch` for about PHASE_SECONDS and returns operations per second. */
function measure(batch: (count: number) => void, batchSize: number): number {
  const deadline = performance.now() + PHASE_SECONDS * 1000;
  const start = performance.now();
  let done = 0;
  while (performance.now() < deadline) {
    batch(batchSize);
    done += batchSize;
  }
  return done / ((performance.now() - start) / 1000);
}

function bar(value: number, max: number, width = 40): string {
  const n = Math.max(1, Math.round((value / max) * width));
  return '#'.repeat(n).padEnd(width);
}

// Warm both paths so the JIT has compiled them before anything is timed.
scheduleBatch(2000);
floorBatch(20_000);

let best = { schedules: 0, floorRows: 0 };
for (let round = 1; round <= ROUNDS; round++) {
  // Alternate the order so neither phase always runs on a hotter or cooler CPU.
  const first = round % 2 === 1;
  const floorRows = first ? 0 : measure(floorBatch, 2000) * ROWS;
  const schedules = measure(scheduleBatch, 100);
  const floorRowsNow = first ? measure(floorBatch, 2000) * ROWS : floorRows;
  process.stdout.write(
    `round ${round}/${ROUNDS}: ${Math.round(schedules)} schedules/s (${Math.round(schedules * ROWS)} rows/s), ` +
      `floor ${Math.round(floorRowsNow)} rows/s\n`,
  );
  best = {
    schedules: Math.max(best.schedules, schedules),
    floorRows: Math.max(best.floorRows, floorRowsNow),
  };
}

const scheduleRows = best.schedules * ROWS;
process.stdout.write(`\nrows per second, best of ${ROUNDS}:\n`);
process.stdout.write(`  floor     ${bar(best.floorRows, best.floorRows)} ${Math.round(best.floorRows)}\n`);
process.stdout.write(`  schedules ${bar(scheduleRows, best.floorRows)} ${Math.round(scheduleRows)}\n`);
// ratio: how many times more it costs to produce a row of a real schedule than to allocate one.
const ratio = best.floorRows / scheduleRows;
process.stdout.write(
  `${JSON.stringify({
    bench: 'quote',
    tenor: ROWS,
    schedules_per_s: Math.round(best.schedules),
    floor_rows_per_s: Math.round(best.floorRows),
    ratio: Number(ratio.toFixed(1)),
    sink: sink > 0,
  })}\n`,
);
