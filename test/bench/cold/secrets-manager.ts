// Cold-init probe: the Secrets Manager client, alone.
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
