import type { Job, Logger } from '../app/ports.js';

/**
 * The local stand-in for the worker Lambda's async invoke: jobs run in this
 * process, in order per request, concurrently across requests. A failed job
 * is logged (in AWS it would be retried, then land in the DLQ).
 */
/**
 * Jobs of one request run one after the other, except an evacuation's: an
 * `evacuate` job follows instances for up to two minutes, so it has a lane of
 * its own per request (its card, its modal checks and its other jobs are not
 * held behind it), as has the evacuation modal's check.
 */
function laneOf(job: Job): string {
  if (!('id' in job)) return `${job.kind}:${Math.random()}`;
  return job.kind === 'evacuate' || job.kind === 'check-evacuate-modal' ? `${job.kind}:${job.id}` : job.id;
}

export function createInProcessQueue(run: (job: Job) => Promise<void>, log: Logger) {
  const chains = new Map<string, Promise<void>>();
  const pending = new Set<Promise<void>>();
  return {
    enqueue: async (job: Job) => {
      const key = laneOf(job);
      const previous = chains.get(key) ?? Promise.resolve();
      const next = previous
        .then(() => run(job))
        .catch((err: unknown) => log.error('job failed', { job: job.kind, requestId: 'id' in job ? job.id : undefined, error: (err as Error)?.name }))
        .finally(() => {
          pending.delete(next);
          if (chains.get(key) === next) chains.delete(key);
        });
      chains.set(key, next);
      pending.add(next);
    },
    /** Resolves when every queued job has run (tests, graceful shutdown). */
    async idle(): Promise<void> {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
