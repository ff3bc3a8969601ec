import type { EvacuationLedger, EvacuationResultKind } from './evacuate.js';
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
 * only to the winner, which then sends. Every other caller hears true and
 * follows the instance without sending: it is `sending` (maybe accepted: a
 * worker that crashed after claiming), `accepted` or ended. An instance the
 * ledger does not name is never sent either (true): the evacuation's plan
 * decides what may be evacuated, once. Nor is one whose claim failed in the
 * store (an error answers true too: runEvacuation would take a thrown error
 * for "not accepted" and send, unrecorded); it is followed, finds no
 * evacuation, and ends as `timeout`, which the ledger does not record over
 * its `planned` (a later run may claim it).
 *
 * `record` writes each instance's end: `refused` from `sending`; `done`,
 * `failed`, `timeout` through `accepted` (runEvacuation does not report the
 * acceptance itself). A write that loses to another run's (both followed the
 * same instance) changes nothing.
 */
export function storeLedger(store: RequestStore, requestId: string, opts: StoreLedgerOptions = {}): Required<EvacuationLedger> {
  const now = () => (opts.now ?? (() => new Date()))().toISOString();
  return {
    async alreadyAccepted(instanceId) {
      try {
        const claim = await store.claimInstance(requestId, instanceId, 'planned', 'sending', now());
        return !claim.ok;
      } catch {
        return true; // unsure: never send unrecorded
      }
    },

    async record(instanceId, outcome: 'sending' | EvacuationResultKind) {
      if (outcome === 'sending') return; // claimed in alreadyAccepted
      if (outcome === 'refused') {
        await store.updateInstance(requestId, instanceId, ['sending'], { state: 'refused', at: now() });
        return;
      }
      await store.updateInstance(requestId, instanceId, ['sending'], { state: 'accepted', at: now() });
      await store.updateInstance(requestId, instanceId, ['accepted'], { state: outcome, at: now() });
    },
  };
}
