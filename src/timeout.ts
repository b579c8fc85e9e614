/**
 * A promise that settles like `work`, or rejects with `onTimeout()` once `timeoutMs` have passed
 * first; the timer is cleared either way, so nothing keeps the process alive. The one deadline race
 * of the queue client, the readiness probes and the metrics scrape. (The decision service's
 * `withBudget` also aborts the work it stops waiting for, so it keeps its own.)
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
