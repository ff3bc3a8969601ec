// Cold-init probe: Bolt alone, bundled as the api function bundles it (same cuts).
export { App, AwsLambdaReceiver } from '@slack/bolt';
