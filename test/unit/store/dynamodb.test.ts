import type { AddressInfo } from 'node:net';
import { createActiveTable } from '../../fakes/dynamo-table.js';
import type { Server } from 'node:http';
import {
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  TransactWriteItemsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockKey } from '../../../src/domain/request.js';
import { newEvacuation, type Evacuation, type InstanceEvacuationState } from '../../../src/domain/evacuation.js';
import { createDynamoStore, GROUP_LIFETIME_S, RETENTION_AFTER_EXPIRY_S, STATE_INDEX, tableDefinition, TTL_ATTRIBUTE } from '../../../src/store/dynamodb.js';
import { aFullRequest, aGroup, aRequest, at, T0 } from './builders.js';
import { describeRequestStoreContract } from './contract.js';

let server: Server;
let endpoint: string;
let tables = 0;
const clients: DynamoDBClient[] = [];

function newClient(): DynamoDBClient {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  clients.push(client);
  return client;
}

/** A fresh table in the shared dynalite, created from the same definition the stack uses. */
async function newTable(): Promise<{ tableName: string; client: DynamoDBClient; doc: DynamoDBDocumentClient }> {
  const tableName = `requests-${process.pid}-${++tables}`;
  const client = newClient();
  await createActiveTable(client, tableDefinition(tableName));
  return { tableName, client, doc: DynamoDBDocumentClient.from(client) };
}

beforeAll(async () => {
  server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
});

describeRequestStoreContract('dynamodb (dynalite)', async () => {
  const { tableName, client, doc } = await newTable();
  return {
    store: createDynamoStore({ tableName, client }),
    async plantLock(key, requestId) {
      // As a crash leaves it: written a minute ago, so past the grace period.
      await doc.send(new PutCommand({ TableName: tableName, Item: { pk: `LOCK#${key}`, requestId, lockedAt: Date.now() - 60_000 } }));
    },
    dispose: async () => void (await client.send(new DeleteTableCommand({ TableName: tableName }))),
  };
});

describe('dynamodb store', () => {
  it('runs against a dynalite without transactions or UpdateTimeToLive (why the store uses neither)', async () => {
    const { tableName, client } = await newTable();
    await expect(
      client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: tableName, Item: { pk: { S: 'x' } } } }] })),
    ).rejects.toMatchObject({ name: 'UnknownOperationException' });
    await expect(
      client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } })),
    ).rejects.toMatchObject({ name: 'UnknownOperationException' });
  });

  it('defines an on-demand table keyed by pk with the byState index', async () => {
    const { tableName, client } = await newTable();
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema?.map((k) => k.AttributeName)])).toEqual([[STATE_INDEX, ['state', 'createdAt']]]);
  });

  it('stores a request as readable attributes, with a ttl 30 days after expiresAt', async () => {
    const { tableName, client, doc } = await newTable();
    const store = createDynamoStore({ tableName, client });
    const request = aFullRequest({ state: 'pending' });
    await store.create(request);
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `REQ#${request.id}` } }));
    expect(Item).toMatchObject({
      pk: `REQ#${request.id}`,
      id: request.id,
      state: 'pending',
      host: 'compute1',
      lockKey: 'prod-east#compute1#force-down',
      origin: request.origin,
      confirmation: request.confirmation,
      history: request.history,
      outcome: { code: 'NOVA_FORBIDDEN', status: 403, novaResponse: JSON.stringify(request.outcome?.novaResponse) },
      [TTL_ATTRIBUTE]: Date.parse(request.expiresAt) / 1000 + RETENTION_AFTER_EXPIRY_S,
    });
    const lock = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: 'LOCK#prod-east#compute1#force-down' } }));
    expect(lock.Item).toMatchObject({ requestId: request.id, lockedAt: expect.any(Number) });
  });

  it('deletes the lock item when the request closes', async () => {
    const { tableName, client, doc } = await newTable();
    const store = createDynamoStore({ tableName, client });
    const request = aRequest();
    await store.create(request);
    await store.transition(request.id, ['pending'], 'cancelled', at(1), {}, 'U0X');
    const lock = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `LOCK#${lockKey(request)}` } }));
    expect(lock.Item).toBeUndefined();
  });

  describe('recordSeen', () => {
    it('stores seen as top-level seenCount and seenLastAt; an in-order repeat is one UpdateItem', async () => {
      const { tableName, client, doc } = await newTable();
      const sent: string[] = [];
      const counting = newClient();
      counting.middlewareStack.add(
        (next) => async (args) => {
          sent.push(String((args.input as { UpdateExpression?: string }).UpdateExpression ?? 'read/put'));
          return next(args);
        },
        { step: 'build', name: 'countCalls' },
      );
      const store = createDynamoStore({ tableName, client: counting });
      const request = aRequest({ seen: { count: 1, lastAt: at(0) } });
      await store.create(request);
      sent.length = 0;
      expect((await store.recordSeen(request.id, at(2)))?.seen).toEqual({ count: 2, lastAt: at(2) });
      expect(sent).toHaveLength(1);
      const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `REQ#${request.id}` } }));
      expect(Item).toMatchObject({ seenCount: 2, seenLastAt: at(2) });
      expect(Item).not.toHaveProperty('seen');
      // A request created without seen gets both attributes on its first repeat.
      const plain = aRequest({ host: 'compute2' });
      await createDynamoStore({ tableName, client }).create(plain);
      await store.recordSeen(plain.id, at(3));
      const second = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `REQ#${plain.id}` } }));
      expect(second.Item).toMatchObject({ seenCount: 2, seenLastAt: at(3) });
    });

    it('reports an item whose seenLastAt is not a string as corrupt instead of looping', async () => {
      const { tableName, client, doc } = await newTable();
      const store = createDynamoStore({ tableName, client });
      const request = aRequest();
      await store.create(request);
      await doc.send(new PutCommand({ TableName: tableName, Item: { pk: `REQ#${request.id}`, ...request, seenCount: 1, seenLastAt: 42 } }));
      await expect(store.recordSeen(request.id, at(1))).rejects.toMatchObject({ name: 'StoreError', code: 'CORRUPT_ITEM' });
    });
  });

  describe('groups and alert resolution', () => {
    /** A client that records the operation of every call it sends (UpdateItem, GetItem, ...). */
    function countingClient(): { client: DynamoDBClient; sent: string[] } {
      const sent: string[] = [];
      const client = newClient();
      client.middlewareStack.add(
        (next, context) => async (args) => {
          sent.push(String(context.commandName));
          return next(args);
        },
        { step: 'initialize', name: 'countOps' },
      );
      return { client, sent };
    }

    it('stores group and alertResolvedAt as top-level attributes of the request item', async () => {
      const { tableName, client, doc } = await newTable();
      const store = createDynamoStore({ tableName, client });
      const request = aRequest({ group: 'grp-1' });
      await store.create(request);
      await store.markAlertResolved(request.id, '2025-03-01T10:04:00Z');
      const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `REQ#${request.id}` } }));
      expect(Item).toMatchObject({ group: 'grp-1', alertResolvedAt: at(4) });
    });

    it('stores a group as GROUP#<id> with a ttl, and points GROUPLATEST#<channel> at the newest', async () => {
      const { tableName, client, doc } = await newTable();
      const store = createDynamoStore({ tableName, client });
      const group = aGroup({ members: ['req-a'], createdAt: at(10) });
      await store.createGroup(group);
      await store.createGroup(aGroup({ createdAt: at(5) })); // older: the pointer stays
      const ttl = Date.parse(at(10)) / 1000 + GROUP_LIFETIME_S + RETENTION_AFTER_EXPIRY_S;
      const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `GROUP#${group.id}` } }));
      expect(Item).toEqual({ pk: `GROUP#${group.id}`, ...group, [TTL_ATTRIBUTE]: ttl });
      const pointer = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: 'GROUPLATEST#C0ONCALL' } }));
      expect(pointer.Item).toEqual({ pk: 'GROUPLATEST#C0ONCALL', groupId: group.id, createdAt: at(10), createdMs: Date.parse(at(10)), [TTL_ATTRIBUTE]: ttl });
    });

    it('findRecentGroup finds nothing when the newest group is gone (expired), whatever the older ones', async () => {
      const { tableName, client, doc } = await newTable();
      const store = createDynamoStore({ tableName, client });
      await store.createGroup(aGroup({ createdAt: T0 }));
      const newest = aGroup({ createdAt: at(1) });
      await store.createGroup(newest);
      await doc.send(new DeleteCommand({ TableName: tableName, Key: { pk: `GROUP#${newest.id}` } }));
      expect(await store.findRecentGroup('C0ONCALL', T0)).toBeUndefined();
    });

    it('concurrent single-id appends are one UpdateItem each: no read, no retry', async () => {
      const { tableName, client } = await newTable();
      const group = aGroup();
      await createDynamoStore({ tableName, client }).createGroup(group);
      const counting = countingClient();
      const store = createDynamoStore({ tableName, client: counting.client });
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.addToGroup(group.id, [`req-${i}`])));
      expect(counting.sent).toEqual(Array.from({ length: 20 }, () => 'UpdateItemCommand'));
      expect((await store.getGroup(group.id))?.members).toHaveLength(20);
    });

    it('an append naming present ids reads once and appends the rest', async () => {
      const { tableName, client } = await newTable();
      const group = aGroup({ members: ['req-a', 'req-b'] });
      await createDynamoStore({ tableName, client }).createGroup(group);
      const counting = countingClient();
      const store = createDynamoStore({ tableName, client: counting.client });
      expect((await store.addToGroup(group.id, ['req-b', 'req-c', 'req-a', 'req-d']))?.members).toEqual(['req-a', 'req-b', 'req-c', 'req-d']);
      expect(counting.sent).toEqual(['UpdateItemCommand', 'GetItemCommand', 'UpdateItemCommand']);
    });

    it('appends of more than 50 ids (a compare-and-set on the count) race correctly with each other and with single appends', async () => {
      const { tableName, client } = await newTable();
      const store = createDynamoStore({ tableName, client });
      const group = aGroup({ members: ['req-0'] });
      await store.createGroup(group);
      const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `req-${from + i}`);
      const calls = [range(0, 150), range(100, 250), range(200, 350), ...range(340, 360).map((id) => [id])];
      const results = await Promise.all(calls.map((ids) => store.addToGroup(group.id, ids)));
      for (const [i, r] of results.entries()) expect(r?.members).toEqual(expect.arrayContaining(calls[i] ?? []));
      const members = (await store.getGroup(group.id))?.members ?? [];
      expect(members).toHaveLength(360);
      expect(new Set(members)).toEqual(new Set(range(0, 360)));
      // Each call's new ids land together, in its order.
      const first = members.indexOf('req-1');
      expect(members.slice(first, first + 149)).toEqual(range(1, 150));
    });
  });

  describe('create, interrupted', () => {
    type Wire = { Item?: { pk?: { S?: string } }; Key?: { pk?: { S?: string } }; ConditionExpression?: string; UpdateExpression?: string };
    const isRequestPut = (i: Wire) => i.Item?.pk?.S?.startsWith('REQ#') === true;
    const isLockTakeOver = (i: Wire) => i.Item?.pk?.S?.startsWith('LOCK#') === true && i.ConditionExpression?.includes('requestId') === true;
    const isLockConfirm = (i: Wire) => i.Key?.pk?.S?.startsWith('LOCK#') === true && i.UpdateExpression !== undefined;

    /** A client that runs `hook` on every request before it is sent (the input as it goes on the wire). */
    function clientWith(hook: (input: Wire) => Promise<void> | void): DynamoDBClient {
      const client = newClient();
      client.middlewareStack.add(
        (next) => async (args) => {
          await hook(args.input as Wire);
          return next(args);
        },
        { step: 'build', name: 'testHook' },
      );
      return client;
    }

    /** A point where a request waits until released, and says when it got there. */
    function gate() {
      let arrive = () => {};
      let release = () => {};
      const reached = new Promise<void>((r) => (arrive = r));
      const released = new Promise<void>((r) => (release = r));
      return { reached, release, pass: async () => (arrive(), released) };
    }

    const lockedAt = async (doc: DynamoDBDocumentClient, tableName: string, key: string) =>
      (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `LOCK#${key}` } }))).Item?.lockedAt as number;

    it('a second caller waits while the claim is young, then gets the first request', async () => {
      const { tableName } = await newTable();
      const writeHeld = gate();
      // A grace far longer than the test: the claim stays young however busy the machine is.
      const slow = createDynamoStore({ tableName, client: clientWith((i) => (isRequestPut(i) ? writeHeld.pass() : undefined)), lockGraceMs: 60_000 });
      // The second caller's reads of the lock: released once it has looked twice (it is waiting, not taking over).
      let lockReads = 0;
      const fast = createDynamoStore({
        tableName,
        client: clientWith((i) => {
          if (i.Key?.pk?.S?.startsWith('LOCK#') === true && i.UpdateExpression === undefined && ++lockReads === 2) writeHeld.release();
        }),
        lockGraceMs: 60_000,
      });
      const first = aRequest();
      const second = aRequest();
      const slowCreate = slow.create(first);
      await writeHeld.reached; // the lock is claimed, the request not written
      expect(await fast.create(second)).toEqual({ created: false, existing: first });
      expect(await slowCreate).toEqual({ created: true, request: first });
      expect(await fast.get(second.id)).toBeUndefined();
    });

    it('a creator slower than the grace period loses its claim and withdraws its request: still exactly one open', async () => {
      const { tableName, client, doc } = await newTable();
      const writeHeld = gate();
      const slow = createDynamoStore({ tableName, client: clientWith((i) => (isRequestPut(i) ? writeHeld.pass() : undefined)), lockGraceMs: 100 });
      const fast = createDynamoStore({ tableName, client, lockGraceMs: 100 });
      const first = aRequest();
      const second = aRequest();
      const slowCreate = slow.create(first);
      await writeHeld.reached;
      const claimedAt = await lockedAt(doc, tableName, lockKey(first));
      expect(await fast.create(second)).toEqual({ created: true, request: second });
      expect(await lockedAt(doc, tableName, lockKey(first))).toBeGreaterThanOrEqual(claimedAt + 100); // waited out the grace period
      writeHeld.release();
      expect(await slowCreate).toEqual({ created: false, existing: second });
      expect(await fast.get(first.id)).toBeUndefined();
      expect((await fast.listByState('pending')).map((r) => r.id)).toEqual([second.id]);
      expect((await fast.findOpen('prod-east', 'compute1', 'force-down'))?.id).toBe(second.id);
    });

    it('a take-over decided on a stale look cannot land once the creator has confirmed', async () => {
      // C1 claims; C3 (no grace) sees the request missing and is about to take over; C1 then writes
      // and confirms; only then does C3's take-over reach the table. It must fail.
      const { tableName, client } = await newTable();
      const writeHeld = gate();
      const takeOverHeld = gate();
      const c1 = createDynamoStore({ tableName, client: clientWith((i) => (isRequestPut(i) ? writeHeld.pass() : undefined)) });
      const c3 = createDynamoStore({ tableName, client: clientWith((i) => (isLockTakeOver(i) ? takeOverHeld.pass() : undefined)), lockGraceMs: 0 });
      const r1 = aRequest();
      const r3 = aRequest();
      const created1 = c1.create(r1);
      await writeHeld.reached;
      const created3 = c3.create(r3);
      await takeOverHeld.reached;
      writeHeld.release();
      expect(await created1).toEqual({ created: true, request: r1 });
      takeOverHeld.release();
      expect(await created3).toEqual({ created: false, existing: r1 });
      expect(await createDynamoStore({ tableName, client }).findOpen('prod-east', 'compute1', 'force-down')).toEqual(r1);
    });

    it('a creator that died after writing its request is confirmed by the next caller', async () => {
      const { tableName, client, doc } = await newTable();
      const dying = createDynamoStore({
        tableName,
        client: clientWith((i) => {
          if (isLockConfirm(i)) throw new Error('simulated crash before the confirm');
        }),
      });
      const first = aRequest();
      await expect(dying.create(first)).rejects.toThrow('simulated crash');
      const store = createDynamoStore({ tableName, client });
      expect(await store.create(aRequest())).toEqual({ created: false, existing: first });
      const lock = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `LOCK#${lockKey(first)}` } }));
      expect(lock.Item).toMatchObject({ requestId: first.id, phase: 'held' });
    });

    it('a creator that died between its writes leaves a claim that is taken over after the grace period', async () => {
      const { tableName, client, doc } = await newTable();
      const dying = createDynamoStore({
        tableName,
        client: clientWith((i) => {
          if (isRequestPut(i)) throw new Error('simulated crash before the request write');
        }),
      });
      await expect(dying.create(aRequest())).rejects.toThrow('simulated crash');
      const store = createDynamoStore({ tableName, client, lockGraceMs: 150 });
      const next = aRequest();
      const claimedAt = await lockedAt(doc, tableName, lockKey(next));
      expect(await store.create(next)).toEqual({ created: true, request: next });
      expect(await lockedAt(doc, tableName, lockKey(next))).toBeGreaterThanOrEqual(claimedAt + 150);
      const lock = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `LOCK#${lockKey(next)}` } }));
      expect(lock.Item).toMatchObject({ requestId: next.id, phase: 'held' });
    });
  });

  describe('evacuation rounds', () => {
    /** A client that records the expressions of every update it sends (dynalite does not enforce DynamoDB's 4 KB expression limit). */
    function expressionClient(): { client: DynamoDBClient; expressions: string[] } {
      const expressions: string[] = [];
      const client = newClient();
      client.middlewareStack.add(
        (next) => async (args) => {
          const input = args.input as { UpdateExpression?: unknown; ConditionExpression?: unknown };
          for (const e of [input.UpdateExpression, input.ConditionExpression]) if (typeof e === 'string') expressions.push(e);
          return next(args);
        },
        { step: 'initialize', name: 'recordExpressions' },
      );
      return { client, expressions };
    }
    const aLedger = (states: readonly InstanceEvacuationState[], over: Partial<Evacuation> = {}): Evacuation => ({
      ...newEvacuation({ id: 'evac-big', requestId: 'req-big', cloud: 'prod-east', host: 'compute1', scope: 'all', by: 'U0ALICE', at: at(1) }, []),
      ...over,
      instances: Object.fromEntries(states.map((state, i) => [`3f2b1c9e-0000-4000-8000-${String(i).padStart(12, '0')}`, { name: `vm${i}`, state, updatedAt: at(2) }])),
    });

    it('a retry of hundreds of failed instances stays within the 4 KB expression limit', async () => {
      const { tableName } = await newTable();
      const { client, expressions } = expressionClient();
      const store = createDynamoStore({ tableName, client });
      const ev = aLedger(Array.from({ length: 400 }, (_, i) => (i % 10 === 0 ? 'done' : 'failed')), { checkedRound: 1 });
      await store.createEvacuation(ev);
      const res = await store.retryEvacuation(ev.requestId, 1, at(5), 'compute7');
      expect(res.ok && Object.values(res.evacuation.instances).filter((e) => e.state === 'planned')).toHaveLength(360);
      expect(expressions.length).toBeGreaterThan(0);
      for (const e of expressions) expect(Buffer.byteLength(e)).toBeLessThanOrEqual(4096);
    });

    it('a retry of a refused round with too many planned instances for one condition is refused with TOO_LARGE, changing nothing', async () => {
      const { tableName, client } = await newTable();
      const store = createDynamoStore({ tableName, client });
      const ev = aLedger(Array.from({ length: 260 }, () => 'planned'), { refusal: { round: 1, code: 'BMC_NOT_OFF', message: 'power is on', at: at(3) } });
      await store.createEvacuation(ev);
      await expect(store.retryEvacuation(ev.requestId, 1, at(5))).rejects.toMatchObject({ name: 'StoreError', code: 'TOO_LARGE' });
      expect(await store.getEvacuation(ev.requestId)).toEqual(ev);
    });
  });
});
