import type { Logger } from '../app/ports.js';

/**
 * Paces Slack Web API calls per channel. Slack tolerates about one
 * chat.postMessage per second per channel (short bursts aside) and answers
 * HTTP 429 with Retry-After (seconds) beyond that. The pacer:
 *
 * - runs the tasks of one channel one after another, FIFO, each starting at
 *   least `minIntervalMs` after the previous one on that channel started, or,
 *   with `burst` > 1, at most `burst` starts in any `burst × minIntervalMs`
 *   (a short burst, as Slack allows, at the same average rate). The spacing
 *   is measured from the channel's last starts whatever its queue: a channel
 *   whose queue ran empty is remembered until its last start is more than
 *   `burst × minIntervalMs` old (and any Retry-After has passed), so callers
 *   that await each call and do some work before the next are paced too;
 * - lets different channels proceed independently and concurrently;
 * - on a rate-limit error (the WebClient's `slack_webapi_rate_limited_error`,
 *   or an error whose `data.error` is `ratelimited`) waits `retryAfter`
 *   seconds (1 when absent) and retries the same task, at most
 *   {@link MAX_RATE_LIMIT_RETRIES} times, then rejects with the last error;
 *   the wait pushes the channel's next start back, so tasks queued behind it,
 *   or scheduled later, wait too (also after giving up);
 * - on any other error rejects that task's promise only; later tasks still run;
 * - `{ priority: true }` puts a task ahead of the channel's waiting tasks
 *   (behind the running one and earlier priority tasks, FIFO among them):
 *   it takes the channel's next start, still paced like any other.
 *
 * Never drops a task. Time is injected (`now`, `sleep`) so tests can use a
 * virtual clock.
 */

export const MAX_RATE_LIMIT_RETRIES = 5;

export interface ChannelPacerOptions {
  /** Least time between two task starts on one channel (on average, with `burst`). Default 1000 ms. */
  minIntervalMs?: number;
  /** Starts allowed back to back before the spacing applies. Default 1 (strict spacing). */
  burst?: number;
  /** Current time in ms. Default `Date.now`. */
  now?: () => number;
  /** Waits `ms` milliseconds. Default a `setTimeout` promise. */
  sleep?: (ms: number) => Promise<void>;
  log?: Pick<Logger, 'warn'>;
}

export interface ScheduleOptions {
  /** Run ahead of the channel's waiting tasks (a new incident's first card ahead of continuation pages). */
  priority?: boolean;
}

export interface ChannelPacer {
  /** Queues `task` on `channel`; settles as the task finally does (after any rate-limit retries). */
  schedule<T>(channel: string, task: () => Promise<T>, options?: ScheduleOptions): Promise<T>;
  /** Tasks scheduled and not yet settled (waiting or running), on `channel` or on all channels. */
  pending(channel?: string): number;
  /** Resolves once every scheduled task (on every channel) has settled. */
  idle(): Promise<void>;
}

interface Job {
  priority: boolean;
  task: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

interface Lane {
  queue: Job[];
  /** Earliest time the next task (or retry) may start. */
  nextStartAt: number;
  /** Start times of the last `burst` tasks. */
  starts: number[];
  draining: boolean;
}

/** The Retry-After seconds of a rate-limit error, or undefined when `err` is not one. */
export function rateLimitRetryAfter(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; retryAfter?: unknown; data?: unknown };
  const data = e.data && typeof e.data === 'object' ? (e.data as { error?: unknown; response_metadata?: { retryAfter?: unknown } }) : undefined;
  const limited = e.code === 'slack_webapi_rate_limited_error' || data?.error === 'ratelimited';
  if (!limited) {
    // The WebClient, having waited out Retry-After on its last retry, gives up with a plain Error saying so.
    const m = err instanceof Error ? /^A rate limit was exceeded \(.*retry-after: (\d+)\)$/.exec(err.message) : null;
    return m ? Number(m[1]) : undefined;
  }
  const candidate = typeof e.retryAfter === 'number' ? e.retryAfter : data?.response_metadata?.retryAfter;
  return typeof candidate === 'number' && Number.isFinite(candidate) && candidate >= 0 ? candidate : 1;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createChannelPacer(opts: ChannelPacerOptions = {}): ChannelPacer {
  const minIntervalMs = Math.max(0, opts.minIntervalMs ?? 1000);
  const burst = Math.max(1, Math.floor(opts.burst ?? 1));
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? realSleep;
  const log = opts.log;
  const lanes = new Map<string, Lane>();
  let total = 0;
  let idleWaiters: Array<() => void> = [];

  /**
   * An idle lane may be forgotten once a fresh one would pace the same: no
   * Retry-After still to wait out, and its last start out of the burst window
   * (older starts no longer limit the next one).
   */
  function forgettable(lane: Lane, t: number): boolean {
    if (lane.queue.length > 0 || lane.nextStartAt > t) return false;
    const last = lane.starts.at(-1);
    return last === undefined || last + burst * minIntervalMs <= t;
  }

  async function waitUntil(at: number): Promise<void> {
    // Loop: a real timer may fire a little early.
    for (let left = at - now(); left > 0; left = at - now()) await sleep(left);
  }

  async function runJob(channel: string, lane: Lane, job: Job): Promise<void> {
    for (let retries = 0; ; retries++) {
      await waitUntil(lane.nextStartAt);
      const startedAt = now();
      lane.starts.push(startedAt);
      if (lane.starts.length > burst) lane.starts.shift();
      lane.nextStartAt = lane.starts.length < burst ? startedAt : lane.starts[0]! + burst * minIntervalMs;
      try {
        job.resolve(await job.task());
        return;
      } catch (err) {
        const retryAfter = rateLimitRetryAfter(err);
        if (retryAfter === undefined) {
          job.reject(err);
          return;
        }
        // Slack's Retry-After holds for the channel, whether this call is retried or given up.
        lane.nextStartAt = Math.max(lane.nextStartAt, now() + retryAfter * 1000);
        if (retries >= MAX_RATE_LIMIT_RETRIES) {
          log?.warn('slack: still rate limited, giving up on this call', { channel, retries });
          job.reject(err);
          return;
        }
        log?.warn('slack: rate limited, retrying', { channel, retryAfterSeconds: retryAfter, attempt: retries + 1 });
      }
    }
  }

  async function drain(channel: string, lane: Lane): Promise<void> {
    while (lane.queue.length > 0) {
      const job = lane.queue[0]!;
      try {
        await runJob(channel, lane, job);
      } catch (err) {
        // Only an injected now/sleep can throw here; never strand the task.
        job.reject(err);
      }
      lane.queue.shift();
      total--;
    }
    lane.draining = false;
    // Keep the lane while its spacing still matters, so a task scheduled just after still waits.
    if (forgettable(lane, now())) lanes.delete(channel);
    if (total === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  return {
    schedule<T>(channel: string, task: () => Promise<T>, options: ScheduleOptions = {}): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const job: Job = {
          priority: options.priority === true,
          // Also catches a task that throws synchronously.
          task: () => Promise.resolve().then(task),
          resolve: resolve as (value: unknown) => void,
          reject,
        };
        const t = now();
        for (const [name, idle] of lanes) if (!idle.draining && forgettable(idle, t)) lanes.delete(name);
        total++;
        let lane = lanes.get(channel);
        if (!lane) {
          lane = { queue: [], nextStartAt: -Infinity, starts: [], draining: false };
          lanes.set(channel, lane);
        }
        if (job.priority) {
          // Behind the running task (the queue's head while draining) and earlier priority tasks.
          let at = lane.draining ? 1 : 0;
          while (at < lane.queue.length && lane.queue[at]!.priority) at++;
          lane.queue.splice(at, 0, job);
        } else lane.queue.push(job);
        if (!lane.draining) {
          lane.draining = true;
          void drain(channel, lane);
        }
      });
    },
    pending(channel?: string): number {
      if (channel === undefined) return total;
      return lanes.get(channel)?.queue.length ?? 0;
    },
    idle(): Promise<void> {
      if (total === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
