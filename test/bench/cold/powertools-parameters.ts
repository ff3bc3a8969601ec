// Cold-init probe: Powertools' Parameters getSecret (with the Secrets Manager client it loads), alone.
export { getSecret } from '@aws-lambda-powertools/parameters/secrets';
