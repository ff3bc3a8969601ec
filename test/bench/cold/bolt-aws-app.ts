// The least an api can do for a signed `/force-down compute1` while keeping ours' promises
// (test/bench/api-cold-ack.ts): the bare Bolt app of bolt-app.ts, but with the secret read from
// Secrets Manager at the first request (secrets never in the environment), and, in its command
// before the ack, the request recorded in DynamoDB (one PutItem) and the worker invoked (one Lambda
// Invoke, `Event`), through the same AWS SDK clients as ours. Nothing else: no zod, no settings,
// no listener, store or log of ours, one write where ours makes two (the request and its host's lock).
// Its cold first ack is a floor for any api that records and hands over a request before it acks.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { App, AwsLambdaReceiver, LogLevel } from '@slack/bolt';

const secrets = new SecretsManagerClient({});
const dynamo = new DynamoDBClient({});
const lambda = new LambdaClient({});
type Run = Awaited<ReturnType<AwsLambdaReceiver['start']>>;
let started: Promise<Run> | undefined;

async function start(): Promise<Run> {
  const res = await secrets.send(new GetSecretValueCommand({ SecretId: process.env.FORCE_DOWN_SECRET_ID! }));
  const doc = JSON.parse(res.SecretString!) as { slack: { signingSecret: string; botToken: string } };
  const receiver = new AwsLambdaReceiver({ signingSecret: doc.slack.signingSecret });
  const app = new App({
    // As ours: a bot token without Bolt's auth.test.
    authorize: async () => ({ botToken: doc.slack.botToken }),
    receiver,
    clientOptions: { slackApiUrl: process.env.SLACK_API_URL! },
    logLevel: LogLevel.ERROR,
  });
  app.command('/force-down', async ({ command, ack }) => {
    const id = `${command.user_id}-${Date.now()}`;
    await dynamo.send(
      new PutItemCommand({
        TableName: process.env.FORCE_DOWN_TABLE!,
        Item: { pk: { S: `REQ#${id}` }, host: { S: command.text }, state: { S: 'pending' }, createdAt: { S: new Date().toISOString() } },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    await lambda.send(new InvokeCommand({ FunctionName: process.env.FORCE_DOWN_WORKER_FUNCTION!, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify({ kind: 'show-card', id })) }));
    await ack();
  });
  return receiver.start();
}

export const handler = async (event: unknown, context: unknown) => {
  const run = await (started ??= start());
  return run(event as never, context, () => {});
};
