import type { Failure } from '../domain/failure.js';
import type { EvacuationMigration } from '../domain/instance.js';
import type { EvacuationLedger } from './evacuate.js';
import type { RequestStore } from './store-port.js';

export interface StoreLedgerOptions {
  /** The clock for entries' `updatedAt` (default the system's). */
  now?: () => Date;
}

/**
 * The store's evacuation ledger (`RequestStore.createEvacuation` and
 * friends) as `runEvacuation`'s `ledger`, for request `requestId`, whose
 * evacuation must already be created with every instance `planned`.
 *
 * runEvacuation asks `alreadyAccepted(id)` before anything is sent for an
 * instance, and sends unless it answers true; `record(id, 'sending')` comes
 * after, and its answer cannot stop the send. So the claim is made in
 * `alreadyAccepted`: it moves the instance from `planned` to `sending` (a
 * compare-and-set: of two runs at once, exactly one wins) and answers false
 * only to the winner, which then sends. Every other caller hears that it was
 * accepted, and since when (the entry's `updatedAt`: its evacuation's time
 * runs from then, across runs), and follows the instance without sending: it
 * is `sending` (maybe accepted: a worker that crashed after claiming),
 * `accepted` or ended. An instance the ledger does not name is never sent
 * either: the evacuation's plan decides what may be evacuated, once. Nor is
 * one whose claim failed in the store (an error answers true too:
 * runEvacuation would take a thrown error for "not accepted" and send,
 * unrecorded); it is followed, finds no evacuation, and ends as `timeout`,
 * which the ledger does not record over its `planned` (a later run may claim it).
 *
 * `record` writes `accepted` when Nova accepts (from `sending`), and each
 * instance's end with its failure's code and words (ours, then Nova's own:
 * `… (Nova said: …)`) and the migration seen:
 * `refused` from `sending`; `done`, `failed`, `timeout` through `accepted`.
 * A write that loses to another run's (both followed the same instance)
 * changes nothing.
 */
export function storeLedger(store: RequestStore, requestId: string, opts: StoreLedgerOptions = {}): Required<EvacuationLedger> {
  const now = () => (opts.now ?? (() => new Date()))().toISOString();
  // The entry's words: ours, then Nova's own (the failure's detail, e.g. its 409's message), as the CLI shows them.
  const wordsOf = (f: Failure) => (f.detail?.trim() ? `${f.message} (Nova said: ${f.detail.trim()})` : f.message);
  const detailOf = (detail?: { failure?: Failure; migration?: EvacuationMigration }) => ({
    ...(detail?.failure ? { code: detail.failure.code, message: wordsOf(detail.failure) } : {}),
    ...(detail?.migration ? { migration: detail.migration.id } : {}),
  });
  return {
    async alreadyAccepted(instanceId) {
      try {
        const claim = await store.claimInstance(requestId, instanceId, 'planned', 'sending', now());
        if (claim.ok) return false;
        const since = Date.parse(claim.current?.instances[instanceId]?.updatedAt ?? '');
        return Number.isFinite(since) ? { since } : true;
      } catch {
        return true; // unsure: never send unrecorded
      }
    },

    async record(instanceId, outcome, detail) {
      if (outcome === 'sending') return; // claimed in alreadyAccepted
      const at = now();
      if (outcome === 'accepted') {
        await store.updateInstance(requestId, instanceId, ['sending'], { state: 'accepted', at, ...detailOf(detail) });
        return;
      }
      if (outcome === 'refused') {
        await store.updateInstance(requestId, instanceId, ['sending'], { state: 'refused', at, ...detailOf(detail) });
        return;
      }
      await store.updateInstance(requestId, instanceId, ['sending'], { state: 'accepted', at });
      await store.updateInstance(requestId, instanceId, ['accepted'], { state: outcome, at, ...detailOf(detail) });
    },
  };
}
