// The api Lambda: verify, authorize, record, enqueue, ack (< 3 s). Never calls Nova.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createJsonLogger } from '../src/runtime/logger.js';
import { createLambdaRuntime, fromApiGateway, toApiGateway } from '../src/runtime/lambda.js';
import { createRouter } from '../src/runtime/router.js';

const log = createJsonLogger({ base: { fn: 'api' } });
const runtime = createLambdaRuntime(process.env, log);
const route = createRouter({ slack: async () => (await runtime.get()).slack, now: Date.now, log });

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  return toApiGateway(await route(fromApiGateway(event)));
}
