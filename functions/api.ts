// The api Lambda's composition root. Issue 3 adds the Slack and alert routes;
// today it answers the health check so the deploy wiring can be exercised.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  if (event.requestContext?.http?.method === 'GET' && event.rawPath === '/healthz') {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ok: true }) };
  }
  return { statusCode: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: 'not found' }) };
}
