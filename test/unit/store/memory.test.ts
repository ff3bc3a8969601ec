import { createMemoryStore, type MemoryStoreState } from '../../fakes/memory-store.js';
import { describeRequestStoreContract } from './contract.js';

describeRequestStoreContract('memory', () => {
  const state: MemoryStoreState = { requests: new Map(), locks: new Map() };
  return {
    store: createMemoryStore(state),
    plantLock: async (key, requestId) => void state.locks.set(key, requestId),
  };
});
