/**
 * Waiting on events, not on time: tests poll the thing they are waiting for
 * (Nova's own record, a row in a store, a log line) until it holds, with a
 * deadline generous enough for a busy machine. A deadline is only there to
 * turn "never" into a readable failure; it is not a guess of how long
 * something takes.
 */

/** Deadline for waits in the integration and reliability suites: an event that has not happened in 60 s will not. */
export const EVENT_DEADLINE_MS = 60_000;

export interface UntilOptions {
  /** Give up after this long (default EVENT_DEADLINE_MS). */
  timeoutMs?: number;
  /** Pause between two checks (default 100 ms). */
  everyMs?: number;
}

/**
 * Calls `check` until it returns something other than `undefined`, `false` or
 * `null`, and resolves with that value. A check that throws counts as "not
 * yet" (a service answering 503 while busy); the last error is in the
 * timeout's message.
 */
export async function until<T>(what: string, check: () => Promise<T | undefined | null | false> | T | undefined | null | false, opts: UntilOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? EVENT_DEADLINE_MS;
  const everyMs = opts.everyMs ?? 100;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== null && v !== false) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (performance.now() >= deadline) {
      const why = lastError === undefined ? '' : ` (last check threw: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
