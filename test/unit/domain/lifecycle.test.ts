import { describe, expect, it } from 'vitest';
import { fromStates, holdsLock, LIFECYCLE, TRANSITIONS, type RequestState } from '../../../src/domain/request.js';

/** A state no edge leaves. */
const isTerminal = (state: RequestState) => TRANSITIONS[state].length === 0;

const STATES = Object.keys(LIFECYCLE) as RequestState[];

describe('the request lifecycle, written down once', () => {
  it('every state that is not terminal has a way out that a person or the sweep can take (none depends on the worker alone)', () => {
    for (const state of STATES.filter((s) => !isTerminal(s))) {
      const exits = LIFECYCLE[state].filter((e) => e.by.includes('person') || e.by.includes('sweep'));
      expect(exits.length, `${state} has no way out but the worker`).toBeGreaterThan(0);
    }
  });

  it('every state that holds the host lock can reach a terminal state, so the lock is always released in the end', () => {
    const reaches = (from: RequestState, seen = new Set<RequestState>()): boolean => {
      if (isTerminal(from)) return true;
      seen.add(from);
      return TRANSITIONS[from].some((to) => !seen.has(to) && reaches(to, seen));
    };
    for (const state of STATES.filter(holdsLock)) expect(reaches(state), state).toBe(true);
  });

  it('terminal states are exactly the ones that no longer hold the lock', () => {
    expect(STATES.filter(isTerminal).sort()).toEqual(STATES.filter((s) => !holdsLock(s)).sort());
  });

  it('a confirmed request may be cancelled (before execution) or failed by the sweep, and nothing else but the worker starts it', () => {
    expect(TRANSITIONS.approved).toEqual(['executing', 'cancelled', 'failed']);
    expect(LIFECYCLE.approved.find((e) => e.to === 'executing')?.by).toEqual(['worker']);
    expect(LIFECYCLE.approved.find((e) => e.to === 'cancelled')?.by).toEqual(['person']);
    expect(LIFECYCLE.approved.find((e) => e.to === 'failed')?.by).toEqual(['sweep']);
  });

  it('from-states are derived from the edges', () => {
    expect(fromStates('cancelled').sort()).toEqual(['approved', 'failed', 'pending']);
    expect(fromStates('approved').sort()).toEqual(['failed', 'pending']);
    expect(fromStates('expired').sort()).toEqual(['failed', 'pending']);
    expect(fromStates('executing')).toEqual(['approved']);
  });
});
