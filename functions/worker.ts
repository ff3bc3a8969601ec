// The worker Lambda, invoked asynchronously by api: Nova calls and slow Slack updates.
// Idempotent per request (compare-and-set transitions), so Lambda's async retries are safe.
import { z } from 'zod';
import { runJob } from '../src/app/worker.js';
import { createJsonLogger } from '../src/runtime/logger.js';
import { createLambdaRuntime } from '../src/runtime/lambda.js';

const log = createJsonLogger({ base: { fn: 'worker' } });
const runtime = createLambdaRuntime(process.env, log);

const jobSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.enum(['show-card', 'execute', 'refresh-card']), id: z.string().min(1) }),
  z.object({ kind: z.literal('status'), cloud: z.string(), host: z.string(), responseUrl: z.url() }),
  z.object({ kind: z.literal('list'), cloud: z.string(), responseUrl: z.url() }),
  z.object({ kind: z.literal('sweep') }),
]);

export async function handler(event: unknown): Promise<void> {
  const job = jobSchema.parse(event);
  await runJob((await runtime.get()).deps, job);
}
