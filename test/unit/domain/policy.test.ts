import { describe, expect, it } from 'vitest';
import { type ApprovalPolicy, checkApprover, checkCanceller, isExpired } from '../../../src/domain/policy.js';
import type { RequestState } from '../../../src/domain/request.js';

const APPROVER = 'U0APPROVER';
const GROUP_MEMBER = 'U0GROUPMEM';
const REQUESTER = 'U0REQUESTR';
const STRANGER = 'U0STRANGER';
const GROUP = 'S0APPROVRS';

const policy = (over: Partial<ApprovalPolicy> = {}): ApprovalPolicy => ({
  approverUsers: new Set([APPROVER]),
  approverGroups: new Set([GROUP]),
  twoPerson: true,
  ...over,
});
const none = new Set<string>();
const inGroup = new Set([GROUP]);

describe('checkApprover', () => {
  it('lets a listed approver confirm somebody else’s request', () => {
    expect(checkApprover(policy(), { requestedBy: REQUESTER }, APPROVER, none)).toBeUndefined();
  });

  it('lets a member of a listed approver group confirm', () => {
    expect(checkApprover(policy(), { requestedBy: REQUESTER }, GROUP_MEMBER, inGroup)).toBeUndefined();
  });

  it('refuses NOT_AUTHORIZED to a user neither listed nor in a listed group (groups not listed count for nothing)', () => {
    expect(checkApprover(policy(), { requestedBy: REQUESTER }, STRANGER, none)).toBe('NOT_AUTHORIZED');
    expect(checkApprover(policy(), { requestedBy: REQUESTER }, STRANGER, new Set(['S0OTHERGRP']))).toBe('NOT_AUTHORIZED');
  });

  it('refuses an approver their own request under the two-person rule (listed or by group)', () => {
    expect(checkApprover(policy(), { requestedBy: APPROVER }, APPROVER, none)).toBe('TWO_PERSON_RULE');
    expect(checkApprover(policy(), { requestedBy: GROUP_MEMBER }, GROUP_MEMBER, inGroup)).toBe('TWO_PERSON_RULE');
  });

  it('lets an approver confirm their own request when the two-person rule is off', () => {
    expect(checkApprover(policy({ twoPerson: false }), { requestedBy: APPROVER }, APPROVER, none)).toBeUndefined();
  });

  it('says NOT_AUTHORIZED before the two-person rule (a non-approver requester is not an approver)', () => {
    expect(checkApprover(policy(), { requestedBy: STRANGER }, STRANGER, none)).toBe('NOT_AUTHORIZED');
  });

  it('with no approvers configured, nobody may approve', () => {
    const empty = policy({ approverUsers: new Set(), approverGroups: new Set() });
    expect(checkApprover(empty, { requestedBy: REQUESTER }, APPROVER, inGroup)).toBe('NOT_AUTHORIZED');
  });
});

describe('checkCanceller', () => {
  const waiting: RequestState[] = ['pending', 'failed'];

  it.each(waiting)('a %s request may be cancelled by whoever asked for it', (state) => {
    expect(checkCanceller(policy(), { requestedBy: REQUESTER, state }, REQUESTER, none)).toBeUndefined();
  });

  it.each(waiting)('a %s request may be cancelled by an approver (listed or by group)', (state) => {
    expect(checkCanceller(policy(), { requestedBy: REQUESTER, state }, APPROVER, none)).toBeUndefined();
    expect(checkCanceller(policy(), { requestedBy: REQUESTER, state }, GROUP_MEMBER, inGroup)).toBeUndefined();
  });

  it.each(waiting)('a %s request may not be cancelled by anybody else', (state) => {
    expect(checkCanceller(policy(), { requestedBy: REQUESTER, state }, STRANGER, none)).toBe('NOT_AUTHORIZED');
  });

  it('an approved request may be cancelled only by an approver: the requester may not take back an approver’s decision', () => {
    expect(checkCanceller(policy(), { requestedBy: REQUESTER, state: 'approved' }, REQUESTER, none)).toBe('NOT_AUTHORIZED');
    expect(checkCanceller(policy(), { requestedBy: REQUESTER, state: 'approved' }, STRANGER, none)).toBe('NOT_AUTHORIZED');
    expect(checkCanceller(policy(), { requestedBy: REQUESTER, state: 'approved' }, APPROVER, none)).toBeUndefined();
    expect(checkCanceller(policy(), { requestedBy: REQUESTER, state: 'approved' }, GROUP_MEMBER, inGroup)).toBeUndefined();
  });

  it('the two-person rule does not stop an approver cancelling their own request, approved or not', () => {
    expect(checkCanceller(policy(), { requestedBy: APPROVER, state: 'pending' }, APPROVER, none)).toBeUndefined();
    expect(checkCanceller(policy(), { requestedBy: APPROVER, state: 'approved' }, APPROVER, none)).toBeUndefined();
  });
});

describe('isExpired', () => {
  const expiresAt = '2026-01-01T12:00:00.000Z';
  const at = Date.parse(expiresAt);

  it('is not expired before expiresAt', () => {
    expect(isExpired({ expiresAt }, at - 1)).toBe(false);
  });

  it('is expired at expiresAt exactly, and after', () => {
    expect(isExpired({ expiresAt }, at)).toBe(true);
    expect(isExpired({ expiresAt }, at + 1)).toBe(true);
  });
});
