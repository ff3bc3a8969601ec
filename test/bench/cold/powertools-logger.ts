// Cold-init probe: Powertools' Logger, alone.
export { Logger } from '@aws-lambda-powertools/logger';
