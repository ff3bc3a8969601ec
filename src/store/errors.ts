/** Why a store operation failed unexpectedly. Expected outcomes (a lost race, an open request) are results, not errors. */
export type StoreErrorCode =
  /** `create` was given an id that another request already has. */
  | 'DUPLICATE_ID'
  /** `create` kept losing the lock race, or `addToGroup` its compare-and-set, and gave up (DynamoDB only; never seen outside pathological contention). */
  | 'LOCK_CONTENDED'
  /** A write too large for the store to make atomically (DynamoDB: a retry of an evacuation with too many planned instances for one condition). */
  | 'TOO_LARGE'
  /** A stored item is not a request this code wrote (missing fields, unparsable JSON). */
  | 'CORRUPT_ITEM';

/** An unexpected store failure. The message names ids and keys, never item contents. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
