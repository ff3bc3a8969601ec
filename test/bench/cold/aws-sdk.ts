// Cold-init probe: the three AWS SDK clients the api function uses, alone.
export { DynamoDBClient } from '@aws-sdk/client-dynamodb';
export { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
export { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
