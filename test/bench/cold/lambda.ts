// Cold-init probe: the Lambda client (Invoke), alone.
export { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
