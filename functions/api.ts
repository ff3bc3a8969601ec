// The api Lambda: verify, authorize, record, enqueue, ack (< 3 s). Never calls Nova.
// At module load (INIT) nothing touches the network: the secret is read, and Bolt built,
// on the first request that needs them.
import { createLambdaLogger } from '../src/runtime/logger.js';
import { createApiHandler, createLambdaRuntime } from '../src/runtime/lambda.js';
import { createRouter } from '../src/runtime/router.js';

const log = createLambdaLogger({ base: { fn: 'api' } });
const runtime = createLambdaRuntime(process.env, log);
const route = createRouter({ slack: async () => (await runtime.get()).slack, alerts: async () => (await runtime.get()).alerts, now: Date.now, log });

export const handler = createApiHandler({ route, log, runtime });
