import { CreateTableCommand, DescribeTableCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Creates a table and waits until it is ACTIVE, as DynamoDB clients must:
 * dynalite (like DynamoDB) creates tables asynchronously, and a request sent
 * while the table is still CREATING gets ResourceNotFoundException. On an idle
 * machine dynalite's `createTableMs: 0` makes that window tiny; on a busy one
 * it is not (a clean-clone CI run failed this way). Polls DescribeTable; the
 * deadline only turns "never" into a readable error.
 */
export async function createActiveTable(client: DynamoDBClient, definition: CreateTableCommandInput, deadlineMs = 60_000): Promise<void> {
  await client.send(new CreateTableCommand(definition));
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: definition.TableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`table ${definition.TableName} is still ${Table?.TableStatus} after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
