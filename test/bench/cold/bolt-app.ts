// Baseline of the api's cold first ack (test/bench/api-cold-ack.ts): what a Bolt user
// ships on day one for the same slash command. App + AwsLambdaReceiver, one command
// that acks; the token and signing secret from the environment, as Bolt's guide has
// it (so Bolt checks the token with auth.test during init, here at a loopback Slack).
import { App, AwsLambdaReceiver, LogLevel } from '@slack/bolt';

const receiver = new AwsLambdaReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET! });
const app = new App({
  token: process.env.SLACK_BOT_TOKEN!,
  receiver,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL! },
  logLevel: LogLevel.ERROR,
});
app.command('/force-down', async ({ ack }) => {
  await ack();
});

export const handler = async (event: unknown, context: unknown) => {
  const run = await receiver.start();
  return run(event as never, context, () => {});
};
