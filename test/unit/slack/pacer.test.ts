import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_RATE_LIMIT_RETRIES, createChannelPacer, rateLimitRetryAfter } from '../../../src/slack/pacer.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';

/**
 * A virtual clock: `sleep(ms)` registers a timer; once the event loop has run
 * every pending microtask (a setImmediate later), time jumps to the earliest
 * timer and that timer fires. No real waiting.
 */
function virtualClock(start = 0) {
  let t = start;
  let seq = 0;
  let scheduled = false;
  const timers: Array<{ at: number; seq: number; fire: () => void }> = [];
  const pump = () => {
    scheduled = false;
    timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = timers.shift();
    if (!next) return;
    t = Math.max(t, next.at);
    next.fire();
    schedule();
  };
  const schedule = () => {
    if (scheduled || timers.length === 0) return;
    scheduled = true;
    setImmediate(pump);
  };
  return {
    now: () => t,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        timers.push({ at: t + Math.max(0, ms), seq: seq++, fire: resolve });
        schedule();
      }),
    advance(ms: number) {
      t += ms;
    },
  };
}

/** An error shaped like the WebClient's rate-limited error. */
function rateLimited(retryAfter?: number): Error {
  const err = new Error('A rate-limit has been reached') as Error & { code: string; retryAfter?: number };
  err.code = 'slack_webapi_rate_limited_error';
  if (retryAfter !== undefined) err.retryAfter = retryAfter;
  return err;
}

function setup(minIntervalMs = 1000, burst?: number) {
  const clock = virtualClock(1_000_000);
  const warnings: Array<{ message: string; data?: Record<string, unknown> }> = [];
  const pacer = createChannelPacer({
    minIntervalMs,
    ...(burst !== undefined ? { burst } : {}),
    now: clock.now,
    sleep: clock.sleep,
    log: { warn: (message, data) => void warnings.push(data ? { message, data } : { message }) },
  });
  /** Start times (virtual) per task label. */
  const starts: Array<{ label: string; at: number }> = [];
  const task =
    <T>(label: string, result?: T) =>
    async () => {
      starts.push({ label, at: clock.now() });
      return result as T;
    };
  const startsOf = (prefix: string) => starts.filter((s) => s.label.startsWith(prefix));
  return { clock, pacer, warnings, starts, task, startsOf };
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('rateLimitRetryAfter', () => {
  it('recognises the WebClient rate-limit error and data.error = ratelimited', () => {
    expect(rateLimitRetryAfter(rateLimited(7))).toBe(7);
    expect(rateLimitRetryAfter(rateLimited())).toBe(1);
    expect(rateLimitRetryAfter(Object.assign(new Error('x'), { data: { ok: false, error: 'ratelimited' } }))).toBe(1);
    expect(rateLimitRetryAfter(Object.assign(new Error('x'), { data: { ok: false, error: 'ratelimited' }, retryAfter: 3 }))).toBe(3);
    expect(rateLimitRetryAfter(Object.assign(new Error('x'), { data: { ok: false, error: 'channel_not_found' } }))).toBeUndefined();
    // The WebClient's own give-up error after its retries (it waited Retry-After already).
    expect(rateLimitRetryAfter(new Error('A rate limit was exceeded (url: https://slack.com/api/chat.postMessage, retry-after: 4)'))).toBe(4);
    expect(rateLimitRetryAfter(new Error('boom'))).toBeUndefined();
    expect(rateLimitRetryAfter(undefined)).toBeUndefined();
    expect(rateLimitRetryAfter('ratelimited')).toBeUndefined();
  });
});

describe('createChannelPacer', () => {
  it('runs one channel’s tasks in FIFO order and resolves each with its own result', async () => {
    const { pacer, task, starts } = setup();
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((l) => pacer.schedule('C1', task(l, l.toUpperCase()))));
    expect(results).toEqual(['A', 'B', 'C', 'D']);
    expect(starts.map((s) => s.label)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('starts tasks on one channel at least minIntervalMs apart (virtual clock)', async () => {
    const { pacer, task, starts } = setup(1000);
    await Promise.all([1, 2, 3, 4, 5].map((n) => pacer.schedule('C1', task(`t${n}`))));
    const g = gaps(starts.map((s) => s.at));
    expect(g).toHaveLength(4);
    for (const gap of g) expect(gap).toBeGreaterThanOrEqual(1000);
  });

  it('with burst N, starts N tasks at once, then keeps the average rate: at most N starts in any N × minIntervalMs', async () => {
    const { pacer, task, starts } = setup(1000, 3);
    await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => pacer.schedule('C1', task(`t${n}`))));
    const at = starts.map((s) => s.at - starts[0]!.at);
    expect(at.slice(0, 3)).toEqual([0, 0, 0]);
    expect(at[3]).toBeGreaterThanOrEqual(3000);
    for (let i = 3; i < at.length; i++) expect(at[i]! - at[i - 3]!).toBeGreaterThanOrEqual(3000);
    expect(starts.map((s) => s.label)).toEqual(['t1', 't2', 't3', 't4', 't5', 't6', 't7']);
  });

  it('measures spacing from the previous start, so a slow task does not add extra delay', async () => {
    const { pacer, clock, starts } = setup(1000);
    const slow = async () => {
      starts.push({ label: 'slow', at: clock.now() });
      await clock.sleep(1500);
    };
    const quick = async () => void starts.push({ label: 'quick', at: clock.now() });
    await Promise.all([pacer.schedule('C1', slow), pacer.schedule('C1', quick)]);
    // The second started once the first finished (1500 ms later), not 1000 + 1500.
    expect(gaps(starts.map((s) => s.at))).toEqual([1500]);
  });

  it('keeps spacing for a task scheduled just after the channel went idle', async () => {
    const { pacer, clock, task, starts } = setup(1000);
    await pacer.schedule('C1', task('first'));
    clock.advance(300);
    await pacer.schedule('C1', task('second'));
    expect(gaps(starts.map((s) => s.at))[0]).toBeGreaterThanOrEqual(1000);
    // …but not when the interval has long passed.
    clock.advance(5000);
    const before = clock.now();
    await pacer.schedule('C1', task('third'));
    expect(starts.at(-1)!.at).toBe(before);
  });

  it('paces a caller that awaits each call and does async work before the next (the queue empties between calls)', async () => {
    // Issue #11 finding 5: 20 calls with 5 ms of work between them all started within 0.49 s.
    for (const burst of [1, 5]) {
      const { pacer, clock, task, starts } = setup(1000, burst);
      for (let i = 0; i < 20; i++) {
        await pacer.schedule('C1', task(`t${i}`));
        await clock.sleep(5);
      }
      const at = starts.map((s) => s.at - starts[0]!.at);
      expect(at).toHaveLength(20);
      // At most `burst` starts in any burst × 1 s window: 20 calls span at least (20 − burst) s.
      for (let i = burst; i < at.length; i++) expect(at[i]! - at[i - burst]!).toBeGreaterThanOrEqual(burst * 1000);
      expect(at.at(-1)).toBeGreaterThanOrEqual((20 - burst) * 1000);
      // The burst itself is kept: the first `burst` calls do not wait for the spacing.
      expect(at[burst - 1]).toBeLessThan(1000);
    }
  });

  it('remembers a burst after the queue ran empty: the next call waits for the window, then the channel is forgotten', async () => {
    const { pacer, clock, task, starts } = setup(1000, 3);
    await Promise.all([1, 2, 3].map((n) => pacer.schedule('C1', task(`t${n}`))));
    clock.advance(2000);
    await pacer.schedule('C1', task('t4'));
    const at = starts.map((s) => s.at - starts[0]!.at);
    expect(at[3]).toBeGreaterThanOrEqual(3000);
    // Once the window has passed since the last start, a call runs at once.
    clock.advance(3000);
    const before = clock.now();
    await pacer.schedule('C1', task('t5'));
    expect(starts.at(-1)!.at).toBe(before);
  });

  it('remembers a Retry-After after the queue ran empty, also when the call was given up', async () => {
    const { pacer, clock, starts } = setup(10, 5);
    await expect(
      pacer.schedule('C1', async () => {
        starts.push({ label: 'limited', at: clock.now() });
        throw rateLimited(20);
      }),
    ).rejects.toThrow();
    // A call scheduled after the give-up still waits out the last Retry-After.
    await pacer.schedule('C1', async () => void starts.push({ label: 'next', at: clock.now() }));
    const at = starts.map((s) => s.at);
    expect(at).toHaveLength(2 + MAX_RATE_LIMIT_RETRIES);
    expect(at.at(-1)! - at.at(-2)!).toBeGreaterThanOrEqual(20_000);
  });

  it('runs different channels independently and concurrently (they interleave)', async () => {
    const { pacer, task, starts, startsOf } = setup(1000);
    const all = [];
    for (let i = 0; i < 3; i++) {
      all.push(pacer.schedule('A', task(`A${i}`)));
      all.push(pacer.schedule('B', task(`B${i}`)));
    }
    await Promise.all(all);
    expect(startsOf('A').map((s) => s.label)).toEqual(['A0', 'A1', 'A2']);
    expect(startsOf('B').map((s) => s.label)).toEqual(['B0', 'B1', 'B2']);
    // Each channel's n-th task starts at the same virtual time: B does not wait behind A.
    expect(startsOf('A').map((s) => s.at)).toEqual(startsOf('B').map((s) => s.at));
    expect(starts.map((s) => s.label)).toEqual(['A0', 'B0', 'A1', 'B1', 'A2', 'B2']);
    for (const ch of ['A', 'B']) for (const gap of gaps(startsOf(ch).map((s) => s.at))) expect(gap).toBeGreaterThanOrEqual(1000);
  });

  it('a channel blocked by a long task does not hold up another channel', async () => {
    const { pacer, clock, task, startsOf } = setup(1000);
    let release!: () => void;
    const blocked = pacer.schedule('A', () => new Promise<void>((r) => (release = r)));
    const b = [0, 1, 2].map((i) => pacer.schedule('B', task(`B${i}`)));
    await Promise.all(b);
    expect(startsOf('B')).toHaveLength(3);
    expect(pacer.pending('A')).toBe(1);
    release();
    await blocked;
    expect(clock.now()).toBeGreaterThan(1_000_000);
  });

  it('retries a rate-limited task after retryAfter, and the queue behind it waits', async () => {
    const { pacer, clock, starts, task, warnings } = setup(1000);
    let attempts = 0;
    const flaky = async () => {
      attempts++;
      starts.push({ label: `flaky#${attempts}`, at: clock.now() });
      if (attempts === 1) throw rateLimited(30);
      return 'posted';
    };
    const first = pacer.schedule('C1', flaky);
    const second = pacer.schedule('C1', task('next'));
    await expect(first).resolves.toBe('posted');
    await second;
    expect(starts.map((s) => s.label)).toEqual(['flaky#1', 'flaky#2', 'next']);
    const [t1, t2, t3] = starts.map((s) => s.at) as [number, number, number];
    expect(t2 - t1).toBeGreaterThanOrEqual(30_000);
    expect(t3 - t2).toBeGreaterThanOrEqual(1000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.data).toMatchObject({ channel: 'C1', retryAfterSeconds: 30 });
  });

  it('treats data.error = ratelimited as a rate limit, waiting 1 s by default', async () => {
    const { pacer, clock, starts } = setup(10);
    let attempts = 0;
    const result = await pacer.schedule('C1', async () => {
      starts.push({ label: 'x', at: clock.now() });
      if (++attempts === 1) throw Object.assign(new Error('An API error occurred: ratelimited'), { data: { ok: false, error: 'ratelimited' } });
      return attempts;
    });
    expect(result).toBe(2);
    expect(gaps(starts.map((s) => s.at))[0]).toBeGreaterThanOrEqual(1000);
  });

  it('rejects only the task that fails with another error; later tasks still run', async () => {
    const { pacer, task, starts } = setup();
    const boom = new Error('channel_not_found');
    const a = pacer.schedule('C1', task('a', 1));
    const b = pacer.schedule('C1', async () => {
      starts.push({ label: 'b', at: 0 });
      throw boom;
    });
    const c = pacer.schedule('C1', () => {
      throw new Error('sync throw');
    });
    const d = pacer.schedule('C1', task('d', 4));
    await expect(a).resolves.toBe(1);
    await expect(b).rejects.toBe(boom);
    await expect(c).rejects.toThrow('sync throw');
    await expect(d).resolves.toBe(4);
    expect(starts.map((s) => s.label)).toEqual(['a', 'b', 'd']);
    await pacer.idle();
    expect(pacer.pending()).toBe(0);
  });

  it('does not retry a non-rate-limit failure', async () => {
    const { pacer } = setup();
    let attempts = 0;
    await expect(
      pacer.schedule('C1', async () => {
        attempts++;
        throw Object.assign(new Error('An API error occurred: invalid_auth'), { code: 'slack_webapi_platform_error', data: { ok: false, error: 'invalid_auth' } });
      }),
    ).rejects.toThrow('invalid_auth');
    expect(attempts).toBe(1);
  });

  it('runs 200 tasks on one channel exactly once each, in order', async () => {
    const { pacer, clock } = setup(1000);
    const runs: number[] = [];
    const times: number[] = [];
    const promises = Array.from({ length: 200 }, (_, i) =>
      pacer.schedule('C1', async () => {
        runs.push(i);
        times.push(clock.now());
        return i;
      }),
    );
    expect(pacer.pending('C1')).toBe(200);
    expect(await Promise.all(promises)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(runs).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const gap of gaps(times)) expect(gap).toBeGreaterThanOrEqual(1000);
    expect(pacer.pending('C1')).toBe(0);
  });

  it(`gives up after ${MAX_RATE_LIMIT_RETRIES} rate-limit retries, rejecting with the last error, then runs the next task`, async () => {
    const { pacer, task, starts, warnings } = setup(1000);
    let attempts = 0;
    const errors: Error[] = [];
    const hopeless = pacer.schedule('C1', async () => {
      attempts++;
      const err = rateLimited(2);
      errors.push(err);
      throw err;
    });
    const after = pacer.schedule('C1', task('after', 'ok'));
    const rejection = await hopeless.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(errors).toHaveLength(1 + MAX_RATE_LIMIT_RETRIES);
    expect(rejection).toBe(errors.at(-1));
    expect(attempts).toBe(1 + MAX_RATE_LIMIT_RETRIES);
    expect(MAX_RATE_LIMIT_RETRIES).toBe(5);
    await expect(after).resolves.toBe('ok');
    expect(starts.map((s) => s.label)).toEqual(['after']);
    expect(warnings.at(-1)!.message).toMatch(/giving up/);
  });

  it('{ priority: true } runs ahead of the channel’s waiting tasks, behind the running one, FIFO among priority tasks', async () => {
    const { pacer, task, starts, startsOf } = setup(1000);
    const all = ['c1', 'c2', 'c3', 'c4'].map((l) => pacer.schedule('C1', task(l)));
    const other = pacer.schedule('C2', task('other'));
    all.push(pacer.schedule('C1', task('p1'), { priority: true }));
    all.push(pacer.schedule('C1', task('p2'), { priority: true }));
    await Promise.all([...all, other]);
    // c1 was already running when the priority tasks came; they go next, in their order.
    expect(startsOf('c').concat(startsOf('p')).sort((a, b) => a.at - b.at).map((s) => s.label)).toEqual(['c1', 'p1', 'p2', 'c2', 'c3', 'c4']);
    // Still paced, and another channel is not affected.
    for (const gap of gaps(starts.filter((s) => s.label !== 'other').map((s) => s.at))) expect(gap).toBeGreaterThanOrEqual(1000);
    expect(startsOf('other')).toHaveLength(1);
  });

  it('a priority task on an idle channel simply runs', async () => {
    const { pacer, task } = setup(1000);
    await expect(pacer.schedule('C1', task('p', 'ok'), { priority: true })).resolves.toBe('ok');
  });

  it('pending() counts waiting and running tasks per channel and overall; idle() waits for all', async () => {
    const { pacer, task } = setup(1000);
    expect(pacer.pending()).toBe(0);
    await pacer.idle(); // already idle: resolves at once
    const done: string[] = [];
    const track = (label: string) => async () => {
      await task(label)();
      done.push(label);
    };
    void pacer.schedule('A', track('a1'));
    void pacer.schedule('A', track('a2'));
    void pacer.schedule('B', track('b1'));
    expect(pacer.pending('A')).toBe(2);
    expect(pacer.pending('B')).toBe(1);
    expect(pacer.pending('nobody')).toBe(0);
    expect(pacer.pending()).toBe(3);
    await pacer.idle();
    expect(done.sort()).toEqual(['a1', 'a2', 'b1']);
    expect(pacer.pending()).toBe(0);
    expect(pacer.pending('A')).toBe(0);
  });
});

describe('createChannelPacer with the real WebClient against the fake Slack', () => {
  let fake: FakeSlackApi;

  beforeAll(async () => {
    fake = await startFakeSlackApi();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('posts every message exactly once, in order, through 429s', async () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
    const pacer = createChannelPacer({ minIntervalMs: 20 });
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 0 });
    const texts = Array.from({ length: 8 }, (_, i) => `message ${i}`);
    let injected = false;
    const posts = texts.map((text, i) =>
      pacer.schedule('C0PACED', async () => {
        // A second 429 in the middle of the run (once, not on the retry), with a real Retry-After.
        if (i === 4 && !injected) {
          injected = true;
          fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
        }
        return client.chat.postMessage({ channel: 'C0PACED', text });
      }),
    );
    const results = await Promise.all(posts);
    expect(results.every((r) => r.ok)).toBe(true);

    const calls = fake.calls('chat.postMessage');
    expect(calls.filter((c) => c.status === 429)).toHaveLength(2);
    const delivered = calls.filter((c) => c.status === 200 && !c.error);
    expect(delivered.map((c) => c.body.text)).toEqual(texts);
    // Each stored once, under a distinct ts.
    expect(new Set(results.map((r) => r.ts)).size).toBe(texts.length);
    for (const r of results) expect(fake.message('C0PACED', r.ts!)?.text).toBeDefined();
  }, 15_000);
});
