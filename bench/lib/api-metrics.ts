/**
 * Where an API process's latency tail comes from during one measured phase, read from its own
 * `/metrics` (prom-client's default metrics): event-loop delay (prom-client resets its histogram at
 * every scrape, so a scrape before the phase starts a fresh window) and garbage-collection time by
 * kind (cumulative sums, so the phase's share is the difference).
 */

export interface LoopAndGc {
  eventLoopP50Ms: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  /** GC seconds by kind (major, minor, incremental, weakcb), cumulative since the process started. */
  gcS: Record<string, number>;
  gcCount: Record<string, number>;
}

const PREFIX = 'fenqi_nodejs_';

function value(text: string, name: string): number {
  const m = new RegExp(`^${PREFIX}${name} ([\\d.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

function byKind(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${PREFIX}${name}\\{kind="(\\w+)"\\} ([\\d.eE+-]+)$`, 'gm')))
    out[m[1]!] = Number(m[2]);
  return out;
}

export async function scrapeLoopAndGc(port: number): Promise<LoopAndGc> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return {
    eventLoopP50Ms: value(text, 'eventloop_lag_p50_seconds') * 1000,
    eventLoopP99Ms: value(text, 'eventloop_lag_p99_seconds') * 1000,
    eventLoopMaxMs: value(text, 'eventloop_lag_max_seconds') * 1000,
    gcS: byKind(text, 'gc_duration_seconds_sum'),
    gcCount: byKind(text, 'gc_duration_seconds_count'),
  };
}

/** The phase between two scrapes: its event-loop delay, and GC milliseconds per second by kind. */
export function phaseLoopAndGc(before: LoopAndGc, after: LoopAndGc, seconds: number) {
  const round2 = (x: number) => Number(x.toFixed(2));
  const gcMsPerS: Record<string, number> = {};
  let gcTotalMs = 0;
  for (const [kind, s] of Object.entries(after.gcS)) {
    const ms = (s - (before.gcS[kind] ?? 0)) * 1000;
    gcMsPerS[kind] = round2(ms / Math.max(0.001, seconds));
    gcTotalMs += ms;
  }
  const pauses = Object.entries(after.gcCount).reduce((n, [k, c]) => n + c - (before.gcCount[k] ?? 0), 0);
  return {
    event_loop_p50_ms: round2(after.eventLoopP50Ms),
    event_loop_p99_ms: round2(after.eventLoopP99Ms),
    event_loop_max_ms: round2(after.eventLoopMaxMs),
    gc_ms_per_s: gcMsPerS,
    gc_mean_pause_ms: round2(gcTotalMs / Math.max(1, pauses)),
  };
}
