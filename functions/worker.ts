// The worker Lambda, invoked asynchronously by api (and every minute by the expiry sweep):
// Nova calls and slow Slack updates. Idempotent per request (compare-and-set transitions),
// so Lambda's async retries are safe; a job that keeps failing goes to the DLQ.
import { createLambdaLogger } from '../src/runtime/logger.js';
import { createLambdaRuntime, createWorkerHandler } from '../src/runtime/lambda.js';

const log = createLambdaLogger({ base: { fn: 'worker' } });
const runtime = createLambdaRuntime(process.env, log);

export const handler = createWorkerHandler({ runtime, log });
