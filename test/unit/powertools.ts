// What the unit tests of the pieces Powertools backs share: Metrics' EMF lines as they are written
// to stdout, and a clock for Parameters' cache, which reads `Date.now()`.
import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Powertools' Metrics writes each EMF line to stdout (its own Console over process.stdout), as
 * Lambda wants it. Captures what each test of the calling file writes there: the returned function
 * gives the current test's lines.
 */
export function captureStdout(): () => string[] {
  let written: string[] = [];
  let original: typeof process.stdout.write;
  beforeEach(() => {
    written = [];
    original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stdout.write;
  });
  afterEach(() => {
    process.stdout.write = original;
  });
  return () => written;
}

/**
 * A clock for code whose cache is on `Date.now()` (Parameters' maxAge) beside a clock of its own:
 * `clock.t += ms` moves both by the same step. The Date is faked from the real time and keeps
 * ticking, since the AWS SDK corrects (and retries on) a skewed clock; between steps the code's own
 * clock (`() => clock.t`) stands still. The caller restores real timers (vi.useRealTimers).
 */
export function fakeDateClock(): { t: number } {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  let manual = 1_800_000_000_000;
  return {
    get t() {
      return manual;
    },
    set t(v: number) {
      vi.setSystemTime(Date.now() + (v - manual));
      manual = v;
    },
  };
}
