import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { holdsLock, lockKey, type ForceDownRequest, type NovaOutcome, type RequestState } from '../domain/request.js';
import {
  decideRound,
  patchEvacuation,
  retryableInstances,
  retryRound,
  type Evacuation,
  type InstanceEvacuationState,
  type InstancePatch,
  type RoundDecision,
} from '../domain/evacuation.js';
import { StoreError } from './errors.js';
import type { CreateResult, NewGroup, RequestStore, StoredGroup, TransitionGuard, TransitionPatch, TransitionResult } from '../app/store-port.js';
import { MAX_OPEN_FORMS } from '../app/store-port.js';
import {
  applyNovaHost,
  applyReservation,
  canonicalInstant,
  definedPatch,
  groupCreatedMs,
  historyEntry,
  isLockHolder,
  jsonCopy,
  quotaExpiryMs,
  quotaGranted,
  reminderPeriod,
  sinceMs,
  slotsGranted,
  uniqueIds,
} from './transition.js';

/** The GSI that `listByState` queries: partition key `state`, sort key `createdAt`. Lock items have no `state`, so it holds requests only. */
export const STATE_INDEX = 'byState';

/** The numeric attribute (epoch seconds) to enable as the table's TTL attribute. */
export const TTL_ATTRIBUTE = 'ttl';

/** How long a request item is kept after its `expiresAt`, whatever its state (the Slack thread is the long-term record). */
export const RETENTION_AFTER_EXPIRY_S = 30 * 24 * 3600;

/**
 * A group has no `expiresAt`: its item (and its channel's latest-group pointer)
 * is kept as if it expired this long after its `createdAt`, then
 * {@link RETENTION_AFTER_EXPIRY_S} more, like a request.
 */
export const GROUP_LIFETIME_S = 24 * 3600;

/**
 * The most ids `addToGroup` checks in one conditional update: each adds
 * `AND NOT contains(...)`, three operators and about 35 bytes, and DynamoDB
 * caps an expression at 300 operators and 4 KB. A longer append is a
 * compare-and-set on the member count instead.
 */
const MAX_CONTAINS_IDS = 50;

/**
 * The table's shape, shared by tests (dynalite) and the CloudFormation
 * resource: on-demand billing, key `pk`, and the `byState` index. TTL is set
 * separately (`TimeToLiveSpecification` on {@link TTL_ATTRIBUTE}); dynalite
 * does not implement UpdateTimeToLive.
 */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'state', AttributeType: 'S' },
      { AttributeName: 'createdAt', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: STATE_INDEX,
        KeySchema: [
          { AttributeName: 'state', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

export interface DynamoStoreOptions {
  tableName: string;
  client: DynamoDBClient;
  /**
   * How long a lock whose request item is not there yet is presumed to belong
   * to a `create` still between its two writes. Past it, the lock is taken
   * over as left by a crash. Keep it well under Slack's 3 s ack budget.
   */
  lockGraceMs?: number;
}

const requestPk = (id: string) => `REQ#${id}`;
const lockPk = (key: string) => `LOCK#${key}`;
const groupPk = (id: string) => `GROUP#${id}`;
const latestGroupPk = (channel: string, key?: string) => (key === undefined ? `GROUPLATEST#${channel}` : `GROUPLATEST#${channel}#${key}`);
const quotaPk = (key: string) => `QUOTA#${key}`;
const evacuationPk = (requestId: string) => `EVAC#${requestId}`;
const reminderPk = (requestId: string) => `REMIND#${requestId}`;

/**
 * A lock is `claimed` by a creator that has not yet written its request, and
 * `held` once that request exists and the creator (or a caller that found the
 * request, on its behalf) confirmed it. A held lock is never taken from an
 * open request.
 */
type LockPhase = 'claimed' | 'held';

interface LockItem {
  requestId: string;
  /** Undefined on a lock written by hand: treated like `held`. */
  phase: LockPhase | undefined;
  /** Epoch ms at which the lock was claimed (the writer's clock); 0 when unknown. */
  lockedAt: number;
}

/**
 * A `RequestStore` in one DynamoDB table, without transactions (dynalite,
 * which the tests run against, does not implement TransactWriteItems).
 *
 * Items: a request `pk = REQ#<id>` with the request's fields as attributes
 * (`outcome.novaResponse` as a JSON string; `seen` as the top-level
 * `seenCount` and `seenLastAt`), plus `lockKey` and `ttl`; a lock
 * `pk = LOCK#<cloud>#<host>#<action>` with `requestId`, `phase`, `lockedAt`;
 * a group `pk = GROUP#<id>` with the group's fields as attributes, plus `ttl`;
 * and per channel a pointer to its latest group, `pk = GROUPLATEST#<channel>`
 * with `groupId`, `createdAt`, `createdMs` (epoch ms) and `ttl` (and one per
 * channel and group `key`, `pk = GROUPLATEST#<channel>#<key>`); a `takeQuota`
 * counter `pk = QUOTA#<key>` with `used` and `ttl`; a request's evacuation
 * ledger `pk = EVAC#<requestId>`, one item with the evacuation's fields and
 * `instances` a map by instance id, plus `ttl` (as a group's, from its `at`);
 * `markReminded`'s last period of a request `pk = REMIND#<requestId>` with
 * `period` and `ttl` (an update that only raises it, conditioned on the
 * stored period being lower).
 * One item per evacuation keeps `getEvacuation` one consistent read (a few
 * hundred instances stay far below the 400 KB item limit); an instance update
 * rewrites only its own map entry, conditioned on that entry's state being the
 * one it read (`instances.#id.#state = :seen`), and on a lost race reads again
 * and rechecks the move, so of concurrent claims exactly one lands and other
 * entries are never overwritten. A round change (decideRound,
 * retryEvacuation) likewise sets only the round fields and the entries it
 * changes, conditioned on the round fields as read (see `decideWrite` and
 * `retryWrite`). Only requests have a
 * `state`, so only they are in the `byState` index.
 *
 * `create` is three conditional writes: claim the lock (`attribute_not_exists`),
 * put the request, confirm the lock (`phase = held` if it still names us). The
 * lock item is the one place where contenders meet: a take-over is a
 * conditional Put on the exact (requestId, phase) the taker looked at, so of
 * "confirm" and "take over" exactly one lands. Crash points and who repairs:
 * - lock claimed, request not written: the lock names a missing request. A
 *   claim younger than `lockGraceMs` is presumed in flight (callers wait for
 *   the request to appear); an older one is taken over.
 * - request written, lock not confirmed: the next caller that finds the open
 *   request confirms the lock for it and returns it as `existing`.
 * - request closed, lock not yet deleted: the lock names a request that no
 *   longer `holdsLock`, and is taken over at once.
 * A creator whose confirm fails (it was slower than the grace period and lost
 * its claim) deletes its own, never announced, request and tries again, which
 * returns the new holder.
 */
export function createDynamoStore({ tableName, client, lockGraceMs = 2_000 }: DynamoStoreOptions): RequestStore {
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const TableName = tableName;

  const getRequest = async (id: string): Promise<ForceDownRequest | undefined> => {
    const { Item } = await doc.send(new GetCommand({ TableName, Key: { pk: requestPk(id) }, ConsistentRead: true }));
    return Item === undefined ? undefined : fromItem(Item);
  };

  const getGroup = async (id: string): Promise<StoredGroup | undefined> => {
    const { Item } = await doc.send(new GetCommand({ TableName, Key: { pk: groupPk(id) }, ConsistentRead: true }));
    return Item === undefined ? undefined : fromGroupItem(Item);
  };

  const getLock = async (key: string): Promise<LockItem | undefined> => {
    const { Item } = await doc.send(new GetCommand({ TableName, Key: { pk: lockPk(key) }, ConsistentRead: true }));
    if (Item === undefined) return undefined;
    if (typeof Item.requestId !== 'string') throw new StoreError('CORRUPT_ITEM', `lock ${key} has no requestId`);
    return {
      requestId: Item.requestId,
      phase: Item.phase === 'claimed' || Item.phase === 'held' ? Item.phase : undefined,
      lockedAt: typeof Item.lockedAt === 'number' ? Item.lockedAt : 0,
    };
  };

  /** Claims the lock for `requestId` if it is free (`seen` undefined) or still exactly as `seen`. */
  const claimLock = async (key: string, requestId: string, seen: LockItem | undefined): Promise<boolean> => {
    const Item = { pk: lockPk(key), requestId, phase: 'claimed' satisfies LockPhase, lockedAt: Date.now() };
    const condition =
      seen === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : seen.phase === undefined
          ? {
              ConditionExpression: 'requestId = :seenId AND attribute_not_exists(#phase)',
              ExpressionAttributeNames: { '#phase': 'phase' },
              ExpressionAttributeValues: { ':seenId': seen.requestId },
            }
          : {
              ConditionExpression: 'requestId = :seenId AND #phase = :seenPhase',
              ExpressionAttributeNames: { '#phase': 'phase' },
              ExpressionAttributeValues: { ':seenId': seen.requestId, ':seenPhase': seen.phase },
            };
    return conditional(doc.send(new PutCommand({ TableName, Item, ...condition })));
  };

  /** Marks the lock held by `requestId`, if it still names it (idempotent). */
  const confirmLock = async (key: string, requestId: string): Promise<boolean> =>
    conditional(
      doc.send(
        new UpdateCommand({
          TableName,
          Key: { pk: lockPk(key) },
          ConditionExpression: 'requestId = :id',
          UpdateExpression: 'SET #phase = :held',
          ExpressionAttributeNames: { '#phase': 'phase' },
          ExpressionAttributeValues: { ':id': requestId, ':held': 'held' satisfies LockPhase },
        }),
      ),
    );

  const releaseLock = async (key: string, requestId: string): Promise<void> => {
    // A failed condition means someone already took the lock over: nothing to release.
    await conditional(
      doc.send(
        new DeleteCommand({ TableName, Key: { pk: lockPk(key) }, ConditionExpression: 'requestId = :id', ExpressionAttributeValues: { ':id': requestId } }),
      ),
    );
  };

  const getEvacuation = async (requestId: string): Promise<Evacuation | undefined> => {
    const { Item } = await doc.send(new GetCommand({ TableName, Key: { pk: evacuationPk(requestId) }, ConsistentRead: true }));
    return Item === undefined ? undefined : evacuationFromItem(Item);
  };

  /**
   * Applies a round change (decideRound, retryRound) to request `requestId`'s
   * evacuation: reads it, lets `change` (the domain function; undefined
   * refuses) compute the next record, and writes only what changed with the
   * conditional update `write` builds from what was read. On a failed
   * condition someone else changed it first: read again and re-apply (the
   * domain function then refuses if the other caller won).
   */
  const changeRound = async (
    requestId: string,
    what: string,
    change: (ev: Evacuation) => Evacuation | undefined,
    write: (current: Evacuation, next: Evacuation) => EvacuationWrite,
  ): Promise<{ ok: true; evacuation: Evacuation } | { ok: false; current: Evacuation | undefined }> => {
    const deadline = Date.now() + 10_000;
    for (let attempt = 0; ; attempt++) {
      const current = await getEvacuation(requestId);
      const next = current === undefined ? undefined : change(current);
      if (current === undefined || next === undefined) return { ok: false, current };
      const { update, condition, names, values } = write(current, next);
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: evacuationPk(requestId) },
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
            ReturnValues: 'ALL_NEW',
          }),
        );
        if (Attributes === undefined) throw new StoreError('CORRUPT_ITEM', `evacuation of request ${requestId}: update returned no attributes`);
        return { ok: true, evacuation: evacuationFromItem(Attributes) };
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
      }
      if (Date.now() > deadline) throw new StoreError('LOCK_CONTENDED', `gave up ${what} of request ${requestId}`);
      await sleep(backoffMs(attempt));
    }
  };

  const updateInstance = async (
    requestId: string,
    instanceId: string,
    from: readonly InstanceEvacuationState[],
    patch: InstancePatch,
  ): Promise<{ ok: true; evacuation: Evacuation } | { ok: false; current: Evacuation | undefined }> => {
    for (let attempt = 0; ; attempt++) {
      const current = await getEvacuation(requestId);
      const next = current === undefined ? undefined : patchEvacuation(current, instanceId, from, patch);
      if (current === undefined || next === undefined) return { ok: false, current };
      const applied = await conditional(
        doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: evacuationPk(requestId) },
            UpdateExpression: 'SET #instances.#id = :entry',
            ConditionExpression: '#instances.#id.#state = :seen',
            ExpressionAttributeNames: { '#instances': 'instances', '#id': instanceId, '#state': 'state' },
            ExpressionAttributeValues: { ':entry': jsonCopy(next.instances[instanceId]), ':seen': current.instances[instanceId]!.state },
          }),
        ),
      );
      if (applied) return { ok: true, evacuation: next };
      // Another caller moved this instance first: read again (the move may no longer be legal).
      await sleep(backoffMs(attempt));
    }
  };

  return {
    async createEvacuation(ev) {
      const ttl = Math.floor(groupCreatedMs({ id: ev.id, createdAt: ev.at }) / 1000) + GROUP_LIFETIME_S + RETENTION_AFTER_EXPIRY_S;
      const item = { ...jsonCopy(ev), pk: evacuationPk(ev.requestId), [TTL_ATTRIBUTE]: ttl };
      const created = await conditional(doc.send(new PutCommand({ TableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' })));
      if (created) return { created: true, evacuation: jsonCopy(ev) };
      const existing = await getEvacuation(ev.requestId);
      if (existing === undefined) throw new StoreError('CORRUPT_ITEM', `evacuation of request ${ev.requestId}: the create was refused but none is stored`);
      return { created: false, evacuation: existing };
    },

    getEvacuation,

    async claimInstance(requestId, instanceId, from, to, at = new Date().toISOString()) {
      return updateInstance(requestId, instanceId, [from], { state: to, at });
    },

    updateInstance,

    async decideRound(requestId, round, decision, at) {
      return changeRound(requestId, `deciding round ${round}`, (ev) => decideRound(ev, round, decision, at), decideWrite);
    },

    async retryEvacuation(requestId, round, at, target) {
      return changeRound(requestId, `retrying round ${round}`, (ev) => retryRound(ev, round, at, target), (current, next) => retryWrite(requestId, current, next));
    },

    async create(request: ForceDownRequest): Promise<CreateResult> {
      const key = lockKey(request);
      const deadline = Date.now() + lockGraceMs + 10_000;
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) {
          if (Date.now() > deadline) throw new StoreError('LOCK_CONTENDED', `gave up taking lock ${key} for request ${request.id}`);
          await sleep(backoffMs(attempt));
        }
        if (!(await claimLock(key, request.id, undefined))) {
          const lock = await getLock(key);
          if (lock === undefined) continue; // released meanwhile: try again
          const holder = await getRequest(lock.requestId);
          if (isLockHolder(holder, key)) {
            // Open, and named by the lock. Confirm it if its creator has not (it may have crashed):
            // from then on nobody can take the lock from it.
            if (lock.phase === 'held' || (await confirmLock(key, lock.requestId))) return { created: false, existing: holder };
            continue;
          }
          // A young claim on a missing request: its creator is probably between its writes.
          if (holder === undefined && lock.phase === 'claimed' && Date.now() - lock.lockedAt < lockGraceMs) continue;
          if (!(await claimLock(key, request.id, lock))) continue; // the lock changed since we looked
        }

        // The lock names us. Write the request, then confirm the lock.
        const written = await conditional(
          doc.send(new PutCommand({ TableName, Item: toItem(request), ConditionExpression: 'attribute_not_exists(pk)' })),
        );
        if (!written) {
          // The id exists: the same request created concurrently (then it is the holder), or a real clash.
          const other = await getRequest(request.id);
          if (isLockHolder(other, key) && (await confirmLock(key, other.id))) return { created: false, existing: other };
          throw new StoreError('DUPLICATE_ID', `request ${request.id} already exists`);
        }
        if (await confirmLock(key, request.id)) return { created: true, request: fromItem(jsonCopy(toItem(request))) };
        // We were slower than the grace period and lost the claim. Our request was never
        // announced: withdraw it (unless someone already moved it), then find the holder.
        await conditional(
          doc.send(
            new DeleteCommand({
              TableName,
              Key: { pk: requestPk(request.id) },
              ConditionExpression: '#state = :state',
              ExpressionAttributeNames: { '#state': 'state' },
              ExpressionAttributeValues: { ':state': request.state },
            }),
          ),
        );
      }
    },

    get: getRequest,

    async transition(
      id: string,
      from: readonly RequestState[],
      to: RequestState,
      at: string,
      patch?: TransitionPatch,
      by?: string,
      guard?: TransitionGuard,
    ): Promise<TransitionResult> {
      if (from.length === 0) return { ok: false, current: await getRequest(id) };
      const names: Record<string, string> = { '#state': 'state', '#updatedAt': 'updatedAt', '#history': 'history', '#openForms': 'openForms' };
      const values: Record<string, unknown> = { ':to': to, ':at': at, ':entry': [historyEntry(to, at, by)], ':none': [] };
      const sets = ['#state = :to', '#updatedAt = :at', '#history = list_append(if_not_exists(#history, :none), :entry)'];
      for (const [field, value] of Object.entries(definedPatch(patch))) {
        names[`#${field}`] = field;
        values[`:${field}`] = field === 'outcome' ? outcomeToItem(value as NovaOutcome) : value;
        sets.push(`#${field} = :${field}`);
      }
      const marks = from.map((state, i) => {
        values[`:from${i}`] = state;
        return `:from${i}`;
      });
      // The form a confirmation answers is consumed in the same conditional write; every open form goes with any transition.
      let formCondition = '';
      if (guard?.form !== undefined) {
        values[':form'] = guard.form;
        formCondition = ' AND contains(#openForms, :form)';
      }
      let attributes: Record<string, unknown> | undefined;
      try {
        ({ Attributes: attributes } = await doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: requestPk(id) },
            // A missing item has no state, so this also fails for an unknown id.
            ConditionExpression: `#state IN (${marks.join(', ')})${formCondition}`,
            UpdateExpression: `SET ${sets.join(', ')} REMOVE #openForms`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        ));
      } catch (err) {
        if (isConditionFailed(err)) return { ok: false, current: await getRequest(id) };
        throw err;
      }
      if (attributes === undefined) throw new StoreError('CORRUPT_ITEM', `request ${id}: update returned no attributes`);
      const request = fromItem(attributes);
      // After the state change: a crash in between leaves a lock naming a closed request, which is stale.
      if (!holdsLock(to)) await releaseLock(lockKey(request), id);
      return { ok: true, request };
    },

    async recordForm(id: string, form: string, states: readonly RequestState[]): Promise<TransitionResult> {
      if (states.length === 0) return { ok: false, current: await getRequest(id) };
      const values: Record<string, unknown> = { ':form': [form], ':max': MAX_OPEN_FORMS };
      const marks = states.map((state, i) => {
        values[`:s${i}`] = state;
        return `:s${i}`;
      });
      const inState = `#state IN (${marks.join(', ')})`;
      // Appended while fewer than the cap are open; at the cap the new form replaces them. Either
      // update is one conditional write; a lost race between the two is tried again.
      for (let attempt = 0; attempt < 5; attempt++) {
        for (const full of [false, true]) {
          try {
            const { Attributes } = await doc.send(
              new UpdateCommand({
                TableName,
                Key: { pk: requestPk(id) },
                ConditionExpression: full ? `${inState} AND size(#openForms) >= :max` : `${inState} AND (attribute_not_exists(#openForms) OR size(#openForms) < :max)`,
                UpdateExpression: full ? 'SET #openForms = :form' : 'SET #openForms = list_append(if_not_exists(#openForms, :none), :form)',
                ExpressionAttributeNames: { '#state': 'state', '#openForms': 'openForms' },
                ExpressionAttributeValues: full ? values : { ...values, ':none': [] },
                ReturnValues: 'ALL_NEW',
              }),
            );
            if (Attributes === undefined) throw new StoreError('CORRUPT_ITEM', `request ${id}: update returned no attributes`);
            return { ok: true, request: fromItem(Attributes) };
          } catch (err) {
            if (!isConditionFailed(err)) throw err;
          }
        }
        const current = await getRequest(id);
        if (current === undefined || !states.includes(current.state)) return { ok: false, current };
      }
      throw new StoreError('LOCK_CONTENDED', `gave up recording a form for request ${id}`);
    },

    async setMessage(id: string, messageTs: string): Promise<void> {
      await conditional(
        doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: requestPk(id) },
            ConditionExpression: 'attribute_exists(pk)', // never create a stub item for an unknown id
            UpdateExpression: 'SET messageTs = :ts',
            ExpressionAttributeValues: { ':ts': messageTs },
          }),
        ),
      );
    },

    async recordSeen(id: string, rawAt: string): Promise<ForceDownRequest | undefined> {
      const at = canonicalInstant(rawAt);
      // `seen` is stored as the top-level `seenCount` and `seenLastAt` (a nested SET needs the map
      // to exist already). Each call lands exactly one of two updates, each one atomic increment:
      // (a) when `at` is later than the stored lastAt (or there is none): count + 1 and lastAt = at;
      // (b) otherwise: count + 1 only. lastAt only ever grows, so once (a)'s condition fails on an
      // existing item, (b)'s holds; both fail only for a missing item.
      const increment = async (withLastAt: boolean): Promise<Record<string, unknown> | undefined> => {
        try {
          const { Attributes } = await doc.send(
            new UpdateCommand({
              TableName,
              Key: { pk: requestPk(id) },
              ConditionExpression: withLastAt
                ? 'attribute_exists(pk) AND (attribute_not_exists(seenLastAt) OR seenLastAt < :at)'
                : 'attribute_exists(pk) AND seenLastAt >= :at',
              UpdateExpression: withLastAt
                ? 'SET seenCount = if_not_exists(seenCount, :one) + :one, seenLastAt = :at'
                : 'SET seenCount = if_not_exists(seenCount, :one) + :one',
              ExpressionAttributeValues: { ':one': 1, ':at': at },
              ReturnValues: 'ALL_NEW',
            }),
          );
          if (Attributes === undefined) throw new StoreError('CORRUPT_ITEM', `request ${id}: update returned no attributes`);
          return Attributes;
        } catch (err) {
          if (isConditionFailed(err)) return undefined;
          throw err;
        }
      };
      for (let attempt = 0; attempt < 3; attempt++) {
        const item = (await increment(true)) ?? (await increment(false));
        if (item !== undefined) return fromItem(item);
        // Both failed: the item is missing (or appeared in between; then try again).
        if ((await getRequest(id)) === undefined) return undefined;
      }
      // Only a seenLastAt that is not a string fails both conditions for good.
      throw new StoreError('CORRUPT_ITEM', `request ${id}: seenLastAt is not comparable`);
    },

    async findOpen(cloud, host, action) {
      const key = lockKey({ cloud, host, action });
      const lock = await getLock(key);
      if (lock === undefined) return undefined;
      const holder = await getRequest(lock.requestId);
      return isLockHolder(holder, key) ? holder : undefined;
    },

    async setNovaHost(id: string, host: string): Promise<ForceDownRequest | undefined> {
      const current = await getRequest(id);
      if (current === undefined) return undefined;
      if (applyNovaHost(current, host) === undefined) return current;
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: requestPk(id) },
            // A compare-and-set on what was read: still pending, still spelled so. The item's lockKey
            // stays as it is (the lock is keyed on the case-folded host).
            ConditionExpression: '#state = :pending AND #host = :from',
            UpdateExpression: 'SET #host = :host, requestedHost = if_not_exists(requestedHost, :from)',
            ExpressionAttributeNames: { '#state': 'state', '#host': 'host' },
            ExpressionAttributeValues: { ':pending': 'pending', ':from': current.host, ':host': host },
            ReturnValues: 'ALL_NEW',
          }),
        );
        if (Attributes === undefined) throw new StoreError('CORRUPT_ITEM', `request ${id}: update returned no attributes`);
        return fromItem(Attributes);
      } catch (err) {
        if (isConditionFailed(err)) return getRequest(id);
        throw err;
      }
    },

    async markAlertResolved(id: string, rawAt: string): Promise<ForceDownRequest | undefined> {
      const at = canonicalInstant(rawAt, 'markAlertResolved: at');
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: requestPk(id) },
            // The first resolution wins; a missing item fails too (nothing is created).
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#resolved)',
            UpdateExpression: 'SET #resolved = :at',
            ExpressionAttributeNames: { '#resolved': 'alertResolvedAt' },
            ExpressionAttributeValues: { ':at': at },
            ReturnValues: 'ALL_NEW',
          }),
        );
        if (Attributes === undefined) throw new StoreError('CORRUPT_ITEM', `request ${id}: update returned no attributes`);
        return fromItem(Attributes);
      } catch (err) {
        if (isConditionFailed(err)) return getRequest(id);
        throw err;
      }
    },

    async markReminded(id: string, period: number): Promise<boolean> {
      reminderPeriod(period);
      const { Item } = await doc.send(new GetCommand({ TableName, Key: { pk: requestPk(id) }, ConsistentRead: true, ProjectionExpression: 'pk' }));
      if (Item === undefined) return false;
      // Kept as long as a request item past its expiry: each reminder writes it again.
      const ttl = Math.floor(Date.now() / 1000) + RETENTION_AFTER_EXPIRY_S;
      return conditional(
        doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: reminderPk(id) },
            ConditionExpression: 'attribute_not_exists(#period) OR #period < :period',
            UpdateExpression: 'SET #period = :period, #ttl = :ttl',
            ExpressionAttributeNames: { '#period': 'period', '#ttl': TTL_ATTRIBUTE },
            ExpressionAttributeValues: { ':period': period, ':ttl': ttl },
          }),
        ),
      );
    },

    async createGroup(group: NewGroup): Promise<void> {
      const createdMs = groupCreatedMs(group);
      const ttl = Math.floor(createdMs / 1000) + GROUP_LIFETIME_S + RETENTION_AFTER_EXPIRY_S;
      const written = await conditional(
        doc.send(new PutCommand({ TableName, Item: { ...groupToItem(group), [TTL_ATTRIBUTE]: ttl }, ConditionExpression: 'attribute_not_exists(pk)' })),
      );
      if (!written) throw new StoreError('DUPLICATE_ID', `group ${group.id} already exists`);
      // Point the channel at this group unless it already points at a newer one (of two created
      // at the same instant, the later written wins). A crash before this write leaves the pointer
      // on an older group: findRecentGroup then misses this one, and a caller opens another group.
      const pointTo = (pk: string) =>
        conditional(
          doc.send(
            new PutCommand({
              TableName,
              Item: { pk, groupId: group.id, createdAt: group.createdAt, createdMs, [TTL_ATTRIBUTE]: ttl },
              ConditionExpression: 'attribute_not_exists(pk) OR createdMs <= :ms',
              ExpressionAttributeValues: { ':ms': createdMs },
            }),
          ),
        );
      await pointTo(latestGroupPk(group.channel));
      if (group.key !== undefined) await pointTo(latestGroupPk(group.channel, group.key));
    },

    getGroup,

    async addToGroup(id: string, members: readonly string[]): Promise<StoredGroup | undefined> {
      // Members only ever grow, which makes both ways below safe without a lock:
      // - up to MAX_CONTAINS_IDS new ids: one list_append conditioned on none of them being in the
      //   list yet. Concurrent appends of other ids all land at once (DynamoDB applies updates to
      //   one item one after another). A failed condition means some id is there already (or the
      //   group is missing): read, drop the ids present, and append the rest; each retry has fewer.
      // - more: a compare-and-set on the member count read (`size(members) = n`); on a lost race,
      //   read again and retry after a backoff.
      const wanted = uniqueIds(members);
      const deadline = Date.now() + 10_000;
      let known: StoredGroup | undefined; // the group as last read, once read
      let lostRaces = 0;
      for (;;) {
        const present = new Set(known?.members);
        const pending = wanted.filter((m) => !present.has(m));
        if (pending.length === 0) return known ?? (await getGroup(id));
        const bySize = pending.length > MAX_CONTAINS_IDS;
        if (bySize && known === undefined) {
          known = await getGroup(id);
          if (known === undefined) return undefined;
          continue;
        }
        if (lostRaces > 0) {
          if (Date.now() > deadline) throw new StoreError('LOCK_CONTENDED', `gave up appending to group ${id}`);
          await sleep(backoffMs(lostRaces));
        }
        const names: Record<string, string> = { '#members': 'members' };
        const values: Record<string, unknown> = { ':add': pending, ':none': [] };
        let condition: string;
        if (bySize) {
          values[':n'] = known?.members.length ?? 0;
          condition = 'size(#members) = :n';
        } else {
          const absent = pending.map((m, i) => {
            values[`:m${i}`] = m;
            return `NOT contains(#members, :m${i})`;
          });
          condition = ['attribute_exists(pk)', ...absent].join(' AND ');
        }
        try {
          const { Attributes } = await doc.send(
            new UpdateCommand({
              TableName,
              Key: { pk: groupPk(id) },
              ConditionExpression: condition,
              UpdateExpression: 'SET #members = list_append(if_not_exists(#members, :none), :add)',
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
              ReturnValues: 'ALL_NEW',
            }),
          );
          if (Attributes === undefined) throw new StoreError('CORRUPT_ITEM', `group ${id}: update returned no attributes`);
          return fromGroupItem(Attributes);
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
        }
        const before = pending.length;
        const current = await getGroup(id);
        if (current === undefined) return undefined;
        known = current;
        const now = new Set(current.members);
        const stillPending = wanted.filter((m) => !now.has(m)).length;
        // By size: someone else appended first. By contains: an id was there, so fewer remain;
        // if none did, something else failed the condition: back off rather than spin.
        if (bySize || stillPending >= before) lostRaces++;
      }
    },

    async setGroupMessages(id: string, messages: readonly string[]): Promise<void> {
      await conditional(
        doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: groupPk(id) },
            ConditionExpression: 'attribute_exists(pk)', // never create a stub item for an unknown id
            UpdateExpression: 'SET #messages = :messages',
            ExpressionAttributeNames: { '#messages': 'messages' },
            ExpressionAttributeValues: { ':messages': [...messages] },
          }),
        ),
      );
    },

    async findRecentGroup(channel: string, since: string, key?: string): Promise<StoredGroup | undefined> {
      const from = sinceMs(since);
      const { Item } = await doc.send(new GetCommand({ TableName, Key: { pk: latestGroupPk(channel, key) }, ConsistentRead: true }));
      if (Item === undefined) return undefined;
      if (typeof Item.groupId !== 'string' || typeof Item.createdMs !== 'number') {
        throw new StoreError('CORRUPT_ITEM', `latest group pointer of ${channel} lacks groupId or createdMs`);
      }
      // The pointer names the channel's newest group: if that is too old, so is every other.
      if (Item.createdMs < from) return undefined;
      const group = await getGroup(Item.groupId);
      return group?.channel === channel && (key === undefined || group.key === key) ? group : undefined;
    },

    async reserveGroupSlots(id: string, wanted: number, limits: { max: number; allowed?: number }) {
      // A compare-and-set on the rows taken as read (`reserved`, or the member count while unset).
      const deadline = Date.now() + 10_000;
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) {
          if (Date.now() > deadline) throw new StoreError('LOCK_CONTENDED', `gave up reserving rows on group ${id}`);
          await sleep(backoffMs(attempt));
        }
        const current = await getGroup(id);
        if (current === undefined) return undefined;
        const granted = slotsGranted(current, wanted, limits);
        const next = applyReservation(current, wanted, granted);
        if (next === current) return { granted, group: current };
        const values: Record<string, unknown> = { ':reserved': next.reserved, ':overflow': next.overflow };
        let condition: string;
        if (current.reserved === undefined) {
          values[':members'] = current.members.length;
          condition = 'attribute_exists(pk) AND attribute_not_exists(#reserved) AND size(#members) = :members';
        } else {
          values[':was'] = current.reserved;
          condition = '#reserved = :was';
        }
        values[':overflowWas'] = current.overflow ?? 0;
        condition += ' AND (attribute_not_exists(#overflow) OR #overflow = :overflowWas)';
        try {
          const { Attributes } = await doc.send(
            new UpdateCommand({
              TableName,
              Key: { pk: groupPk(id) },
              ConditionExpression: condition,
              UpdateExpression: 'SET #reserved = :reserved, #overflow = :overflow',
              ExpressionAttributeNames: { '#reserved': 'reserved', '#overflow': 'overflow', ...(current.reserved === undefined ? { '#members': 'members' } : {}) },
              ExpressionAttributeValues: values,
              ReturnValues: 'ALL_NEW',
            }),
          );
          if (Attributes === undefined) throw new StoreError('CORRUPT_ITEM', `group ${id}: update returned no attributes`);
          return { granted, group: fromGroupItem(Attributes) };
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
        }
      }
    },

    async takeQuota(key: string, wanted: number, limit: number, expiresAt: string): Promise<number> {
      const ttl = Math.floor(quotaExpiryMs(expiresAt) / 1000);
      let take = quotaGranted(0, wanted, limit);
      const deadline = Date.now() + 10_000;
      for (let attempt = 0; take > 0; attempt++) {
        if (attempt > 1) {
          if (Date.now() > deadline) throw new StoreError('LOCK_CONTENDED', `gave up taking from counter ${key}`);
          await sleep(backoffMs(attempt - 1));
        }
        // ADD is atomic; the condition keeps the total within the limit (none for an unbounded one).
        const bounded = Number.isFinite(limit);
        try {
          await doc.send(
            new UpdateCommand({
              TableName,
              Key: { pk: quotaPk(key) },
              UpdateExpression: 'SET #ttl = :ttl ADD #used :take',
              ...(bounded ? { ConditionExpression: 'attribute_not_exists(#used) OR #used <= :room' } : {}),
              ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE, '#used': 'used' },
              ExpressionAttributeValues: { ':ttl': ttl, ':take': take, ...(bounded ? { ':room': limit - take } : {}) },
            }),
          );
          return take;
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
        }
        const { Item } = await doc.send(new GetCommand({ TableName, Key: { pk: quotaPk(key) }, ConsistentRead: true }));
        take = quotaGranted(typeof Item?.used === 'number' ? Item.used : 0, wanted, limit);
      }
      return 0;
    },

    async listByState(state: RequestState): Promise<ForceDownRequest[]> {
      // The index is eventually consistent: fine for sweeps, which re-check with a conditional transition.
      const out: ForceDownRequest[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName,
            IndexName: STATE_INDEX,
            KeyConditionExpression: '#state = :state',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':state': state },
            ExclusiveStartKey,
          }),
        );
        for (const item of page.Items ?? []) out.push(fromItem(item));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey !== undefined);
      return out;
    },
  };
}

/** The request as a table item: its fields as attributes, plus the key, `lockKey` and `ttl`. */
function toItem(r: ForceDownRequest): Record<string, unknown> {
  const expires = Date.parse(r.expiresAt);
  return {
    pk: requestPk(r.id),
    id: r.id,
    cloud: r.cloud,
    host: r.host,
    requestedHost: r.requestedHost,
    binary: r.binary,
    action: r.action,
    state: r.state,
    origin: r.origin,
    reason: r.reason,
    requestedBy: r.requestedBy,
    channel: r.channel,
    messageTs: r.messageTs,
    confirmation: r.confirmation,
    outcome: r.outcome === undefined ? undefined : outcomeToItem(r.outcome),
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    updatedAt: r.updatedAt,
    history: r.history,
    seenCount: r.seen?.count,
    seenLastAt: r.seen?.lastAt,
    group: r.group,
    alertResolvedAt: r.alertResolvedAt,
    openForms: r.openForms,
    lockKey: lockKey(r),
    [TTL_ATTRIBUTE]: Number.isFinite(expires) ? Math.floor(expires / 1000) + RETENTION_AFTER_EXPIRY_S : undefined,
  };
}

/** Nova's response is free-form JSON: stored as a string so it needs no attribute mapping (and empty keys are fine). */
function outcomeToItem(o: NovaOutcome): Record<string, unknown> {
  const { novaResponse, ...rest } = o;
  return novaResponse === undefined ? rest : { ...rest, novaResponse: JSON.stringify(novaResponse) };
}

const REQUIRED = ['id', 'cloud', 'host', 'binary', 'action', 'state', 'origin', 'requestedBy', 'channel', 'createdAt', 'expiresAt', 'updatedAt'] as const;

function fromItem(item: Record<string, unknown>): ForceDownRequest {
  const missing = REQUIRED.filter((field) => item[field] === undefined);
  if (missing.length > 0) throw new StoreError('CORRUPT_ITEM', `item ${String(item.pk)} lacks ${missing.join(', ')}`);
  const i = item as unknown as ForceDownRequest;
  const r: ForceDownRequest = {
    id: i.id,
    cloud: i.cloud,
    host: i.host,
    binary: i.binary,
    action: i.action,
    state: i.state,
    origin: i.origin,
    requestedBy: i.requestedBy,
    channel: i.channel,
    createdAt: i.createdAt,
    expiresAt: i.expiresAt,
    updatedAt: i.updatedAt,
    history: i.history ?? [],
  };
  if (i.reason !== undefined) r.reason = i.reason;
  if (i.requestedHost !== undefined) r.requestedHost = i.requestedHost;
  if (i.messageTs !== undefined) r.messageTs = i.messageTs;
  if (i.confirmation !== undefined) r.confirmation = i.confirmation;
  if (item.outcome !== undefined) r.outcome = outcomeFromItem(item.outcome as Record<string, unknown>, r.id);
  if (item.seenCount !== undefined || item.seenLastAt !== undefined) {
    if (typeof item.seenCount !== 'number' || typeof item.seenLastAt !== 'string') {
      throw new StoreError('CORRUPT_ITEM', `request ${r.id}: seenCount and seenLastAt must both be set`);
    }
    r.seen = { count: item.seenCount, lastAt: item.seenLastAt };
  }
  if (i.group !== undefined) r.group = i.group;
  if (i.alertResolvedAt !== undefined) r.alertResolvedAt = i.alertResolvedAt;
  if (item.openForms !== undefined) {
    if (!Array.isArray(item.openForms) || !item.openForms.every((f) => typeof f === 'string')) throw new StoreError('CORRUPT_ITEM', `request ${r.id}: openForms is not a list of strings`);
    r.openForms = item.openForms as string[];
  }
  return r;
}

/** The group as a table item, without its `ttl`. */
function groupToItem(g: NewGroup): Record<string, unknown> {
  return {
    pk: groupPk(g.id),
    id: g.id,
    channel: g.channel,
    title: g.title,
    createdAt: g.createdAt,
    members: [...g.members],
    messages: [...(g.messages ?? [])],
    ...(g.key !== undefined ? { key: g.key } : {}),
    ...(g.reserved !== undefined ? { reserved: g.reserved } : {}),
    ...(g.overflow !== undefined ? { overflow: g.overflow } : {}),
  };
}

function fromGroupItem(item: Record<string, unknown>): StoredGroup {
  const { id, channel, title, createdAt, members, messages, key, reserved, overflow } = item;
  const isIds = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const isCount = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
  if (
    typeof id !== 'string' ||
    typeof channel !== 'string' ||
    typeof title !== 'string' ||
    typeof createdAt !== 'string' ||
    !isIds(members) ||
    !isIds(messages) ||
    (key !== undefined && typeof key !== 'string') ||
    !isCount(reserved) ||
    !isCount(overflow)
  ) {
    throw new StoreError('CORRUPT_ITEM', `item ${String(item.pk)} is not a group`);
  }
  return {
    id,
    channel,
    title,
    createdAt,
    members,
    messages,
    ...(key !== undefined ? { key: key as string } : {}),
    ...(reserved !== undefined ? { reserved: reserved as number } : {}),
    ...(overflow !== undefined ? { overflow: overflow as number } : {}),
  };
}

function outcomeFromItem(o: Record<string, unknown>, id: string): NovaOutcome {
  const { novaResponse, ...rest } = o;
  if (typeof novaResponse !== 'string') return rest as unknown as NovaOutcome;
  try {
    return { ...(rest as unknown as NovaOutcome), novaResponse: JSON.parse(novaResponse) as unknown };
  } catch (cause) {
    throw new StoreError('CORRUPT_ITEM', `request ${id}: outcome.novaResponse is not JSON`, { cause });
  }
}

function evacuationFromItem(item: Record<string, unknown>): Evacuation {
  const { pk: _pk, [TTL_ATTRIBUTE]: _ttl, ...ev } = item;
  return ev as unknown as Evacuation;
}

/** A conditional update of an evacuation item: its expressions and their placeholders. */
interface EvacuationWrite {
  update: string;
  condition: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/** DynamoDB's limit on one expression's length (UpdateExpression, ConditionExpression): 4 KB. */
const MAX_EXPRESSION_BYTES = 4096;

/**
 * The round fields of `current` as a condition: `round` (absent reads as 1,
 * so an absent one must still be absent), `checkedRound` and the refusal's
 * round exactly as read. Adds its placeholders to `names` and `values`.
 */
function roundSeen(current: Evacuation, names: Record<string, string>, values: Record<string, unknown>): string[] {
  Object.assign(names, { '#round': 'round', '#checkedRound': 'checkedRound', '#refusal': 'refusal' });
  const terms: string[] = [];
  if (current.round === undefined) terms.push('attribute_not_exists(#round)');
  else {
    terms.push('#round = :seenRound');
    values[':seenRound'] = current.round;
  }
  if (current.checkedRound === undefined) terms.push('attribute_not_exists(#checkedRound)');
  else {
    terms.push('#checkedRound = :seenChecked');
    values[':seenChecked'] = current.checkedRound;
  }
  if (current.refusal === undefined) terms.push('attribute_not_exists(#refusal)');
  else {
    terms.push('#refusal.#round = :seenRefusal');
    values[':seenRefusal'] = current.refusal.round;
  }
  return terms;
}

/**
 * decideRound as one conditional update: sets `checkedRound` (and drops any
 * refusal) or records the refusal; the whole `instances` map is written only
 * when the ledger had no entry (round 1 lists them), on condition that it is
 * still empty, so no claim or update of an entry can be overwritten. The
 * condition holds the round fields as read (so of concurrent deciders exactly
 * one lands: the others re-read a decided round, which the domain refuses).
 */
function decideWrite(current: Evacuation, next: Evacuation): EvacuationWrite {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const condition = roundSeen(current, names, values);
  const set: string[] = [];
  const remove: string[] = [];
  if (next.checkedRound !== current.checkedRound) {
    set.push('#checkedRound = :checked');
    values[':checked'] = next.checkedRound;
  }
  if (next.refusal === undefined) {
    if (current.refusal !== undefined) remove.push('#refusal');
  } else if (JSON.stringify(next.refusal) !== JSON.stringify(current.refusal)) {
    set.push('#refusal = :refusal');
    values[':refusal'] = jsonCopy(next.refusal);
  }
  if (Object.keys(current.instances).length === 0 && Object.keys(next.instances).length > 0) {
    names['#instances'] = 'instances';
    set.push('#instances = :instances');
    values[':instances'] = jsonCopy(next.instances);
    condition.push('size(#instances) = :zero');
    values[':zero'] = 0;
  }
  const update = [set.length > 0 ? `SET ${set.join(', ')}` : '', remove.length > 0 ? `REMOVE ${remove.join(', ')}` : ''].filter(Boolean).join(' ');
  return { update, condition: condition.join(' AND '), names, values };
}

/**
 * retryRound as one conditional update: sets `round`, each retried entry
 * (`instances.#eN`, by placeholder: ids are not attribute-name safe), the
 * target (or removes it), and removes `checkedRound` and the refusal. Every
 * entry not written here or conditioned below is in an end state (done,
 * failed, timeout, refused), which never changes, so no concurrent update is
 * lost; the condition holds the round fields as read and every `planned`
 * entry still `planned` (a concurrent claim makes the retry re-read, and the
 * domain then refuses it: an instance is in progress).
 *
 * Size: the update names each retried entry (about 16 bytes each); past
 * DynamoDB's 4 KB expression limit (about 250 entries) the whole `instances`
 * map is written instead, which is equally safe given the condition. The
 * condition names each planned entry (about 20 bytes each): a retry of a
 * round refused by its checks, all of whose entries are planned, past about
 * 200 instances cannot be expressed as one condition and is refused with a
 * StoreError (TOO_LARGE) rather than risk overwriting a claim.
 */
function retryWrite(requestId: string, current: Evacuation, next: Evacuation): EvacuationWrite {
  // DynamoDB refuses placeholders an expression does not use: each is added where it is used.
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':round': next.round };
  const condition = roundSeen(current, names, values);
  const placeholder = new Map<string, string>();
  const entryName = (id: string): string => {
    let p = placeholder.get(id);
    if (p === undefined) {
      p = `#e${placeholder.size.toString(36)}`;
      placeholder.set(id, p);
      names[p] = id;
    }
    return p;
  };
  for (const [id, entry] of Object.entries(current.instances)) {
    if (entry.state !== 'planned') continue;
    condition.push(`#i.${entryName(id)}.#s = :p`);
    Object.assign(names, { '#i': 'instances', '#s': 'state' });
    values[':p'] = 'planned';
  }
  const set = ['#round = :round'];
  const retried = retryableInstances(current);
  const perEntry = retried.map((id) => {
    const p = entryName(id);
    const v = `:${p.slice(1)}`;
    values[v] = jsonCopy(next.instances[id]);
    names['#i'] = 'instances';
    return `#i.${p} = ${v}`;
  });
  const remove = ['#checkedRound', '#refusal'];
  names['#target'] = 'target';
  if (next.target === undefined) remove.push('#target');
  else {
    set.push('#target = :target');
    values[':target'] = next.target;
  }
  const build = (sets: string[]) => `SET ${sets.join(', ')} REMOVE ${remove.join(', ')}`;
  let update = build([...set, ...perEntry]);
  if (Buffer.byteLength(update) > MAX_EXPRESSION_BYTES) {
    // Too many entries to name: write the map whole (the unnamed entries are in end states or conditioned planned).
    for (const id of retried) {
      delete values[`:${placeholder.get(id)!.slice(1)}`];
      if (current.instances[id]!.state !== 'planned') delete names[placeholder.get(id)!];
    }
    values[':instances'] = jsonCopy(next.instances);
    names['#i'] = 'instances';
    update = build([...set, '#i = :instances']);
  }
  const conditionText = condition.join(' AND ');
  if (Buffer.byteLength(conditionText) > MAX_EXPRESSION_BYTES) {
    throw new StoreError('TOO_LARGE', `evacuation of request ${requestId}: too many planned instances to retry in one conditional write`);
  }
  return { update, condition: conditionText, names, values };
}

function isConditionFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

/** Runs a conditional write: true when it was applied, false when its condition failed. */
async function conditional(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    throw err;
  }
}

/** The wait before retry `attempt`: up to 20, 40, 80, 160, then 200 ms, and at least half that (jitter spreads contenders). */
function backoffMs(attempt: number): number {
  const cap = Math.min(200, 10 * 2 ** Math.min(attempt, 5));
  return cap / 2 + Math.random() * (cap / 2);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
