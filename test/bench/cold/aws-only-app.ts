// bolt-aws-app.ts without Bolt: the secret read, the Slack signature checked by hand (HMAC-SHA256
// of v0:timestamp:body), the form parsed, one DynamoDB PutItem and one Lambda Invoke, then the
// ack. What recording and handing over a request before the ack costs with these AWS SDK clients alone.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

const secrets = new SecretsManagerClient({});
const dynamo = new DynamoDBClient({});
const lambda = new LambdaClient({});
let signing: Promise<string> | undefined;

interface Event {
  body: string;
  isBase64Encoded?: boolean;
  headers: Record<string, string>;
}

export const handler = async (event: Event) => {
  const key = await (signing ??= secrets
    .send(new GetSecretValueCommand({ SecretId: process.env.FORCE_DOWN_SECRET_ID! }))
    .then((r) => (JSON.parse(r.SecretString!) as { slack: { signingSecret: string } }).slack.signingSecret));
  const body = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const ts = event.headers['x-slack-request-timestamp']!;
  const mine = Buffer.from(`v0=${createHmac('sha256', key).update(`v0:${ts}:${body}`).digest('hex')}`);
  const theirs = Buffer.from(event.headers['x-slack-signature'] ?? '');
  if (mine.length !== theirs.length || !timingSafeEqual(mine, theirs) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return { statusCode: 401, body: '' };
  const form = new URLSearchParams(body);
  const id = `${form.get('user_id')}-${Date.now()}`;
  await dynamo.send(
    new PutItemCommand({
      TableName: process.env.FORCE_DOWN_TABLE!,
      Item: { pk: { S: `REQ#${id}` }, host: { S: form.get('text') ?? '' }, state: { S: 'pending' }, createdAt: { S: new Date().toISOString() } },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  await lambda.send(new InvokeCommand({ FunctionName: process.env.FORCE_DOWN_WORKER_FUNCTION!, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify({ kind: 'show-card', id })) }));
  return { statusCode: 200, body: '' };
};
