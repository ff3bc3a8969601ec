// The approver user-group lookup (src/slack/groups.ts) against the fake Slack's usergroups.users.list,
// through the real WebClient. It must fail closed: a group Slack does not answer for grants nobody.
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGroupResolver } from '../../../src/slack/groups.js';
import { type FakeSlackApi, startFakeSlackApi } from '../../fakes/slack-api.js';

const ONCALL = 'S0ONCALL01';
const SRE = 'S0SRE00001';
const ALICE = 'U0ALICE001';
const BOB = 'U0BOB00001';
const MALLORY = 'U0MALLORY1';

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(() => slack.close());
afterEach(() => {
  slack.reset();
  slack.setUsergroup(ONCALL, undefined);
  slack.setUsergroup(SRE, undefined);
});

function setup(opts: { groups?: string[]; ttlMs?: number; timeoutMs?: number } = {}) {
  let now = 1_000_000;
  const logs: Record<string, unknown>[] = [];
  const log = (level: string) => (message: string, data?: Record<string, unknown>) => void logs.push({ level, message, ...data });
  // No retries, a short timeout: what the lookup does with the failure is what is tested here.
  const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, timeout: opts.timeoutMs ?? 5_000 });
  const groupsOf = createGroupResolver({
    client,
    groups: new Set(opts.groups ?? [ONCALL, SRE]),
    ...(opts.ttlMs !== undefined ? { ttlMs: opts.ttlMs } : {}),
    now: () => now,
    log: { info: log('info'), warn: log('warn'), error: log('error') },
  });
  return { groupsOf, logs, advance: (ms: number) => void (now += ms) };
}

describe('approver groups from Slack (usergroups.users.list)', () => {
  it('a member of an approver group is in it; a user in none is in none', async () => {
    slack.setUsergroup(ONCALL, [ALICE, BOB]);
    slack.setUsergroup(SRE, [BOB]);
    const t = setup();
    expect([...(await t.groupsOf(ALICE))]).toEqual([ONCALL]);
    expect([...(await t.groupsOf(BOB))].sort()).toEqual([ONCALL, SRE].sort());
    expect([...(await t.groupsOf(MALLORY))]).toEqual([]);
    expect(slack.calls('usergroups.users.list').map((c) => c.body.usergroup).sort()).toEqual([ONCALL, SRE].sort());
    expect(t.logs).toEqual([]);
  });

  it('with no approver groups configured, Slack is not asked and nobody is in one', async () => {
    const t = setup({ groups: [] });
    expect([...(await t.groupsOf(ALICE))]).toEqual([]);
    expect(slack.calls('usergroups.users.list')).toHaveLength(0);
  });

  it('fails closed on a Slack error: nobody gets approval through that group, the other group still counts, and it is logged', async () => {
    slack.setUsergroup(ONCALL, [ALICE]);
    slack.setUsergroup(SRE, [ALICE]);
    slack.failNext('usergroups.users.list', { error: 'missing_scope' });
    const t = setup();
    // The first group asked (ONCALL) fails; SRE answers.
    expect([...(await t.groupsOf(ALICE))]).toEqual([SRE]);
    expect(t.logs).toEqual([expect.objectContaining({ level: 'warn', message: 'cannot read approver group', group: ONCALL, error: 'missing_scope' })]);
  });

  it('fails closed when every group lookup fails (an HTTP 500, a group Slack does not know)', async () => {
    slack.setUsergroup(ONCALL, [ALICE]);
    slack.failNext('usergroups.users.list', { status: 500 });
    const t = setup(); // SRE is not known to the fake: no_such_subteam
    expect([...(await t.groupsOf(ALICE))]).toEqual([]);
    expect(t.logs.map((l) => [l.level, l.message, l.group])).toEqual([
      ['warn', 'cannot read approver group', ONCALL],
      ['warn', 'cannot read approver group', SRE],
    ]);
    expect(t.logs[1]).toMatchObject({ error: 'no_such_subteam' });
  });

  it('fails closed when Slack does not answer in time', async () => {
    slack.setUsergroup(ONCALL, [ALICE]);
    slack.failNext('usergroups.users.list', { delayMs: 1_000 });
    const t = setup({ groups: [ONCALL], timeoutMs: 100 });
    expect([...(await t.groupsOf(ALICE))]).toEqual([]);
    expect(t.logs).toEqual([expect.objectContaining({ level: 'warn', message: 'cannot read approver group', group: ONCALL })]);
  });

  it('caches the members for the TTL (one lookup per group), then asks Slack again and sees the change', async () => {
    slack.setUsergroup(ONCALL, [ALICE]);
    const t = setup({ groups: [ONCALL], ttlMs: 60_000 });
    expect([...(await t.groupsOf(ALICE))]).toEqual([ONCALL]);
    slack.setUsergroup(ONCALL, [BOB]); // Alice leaves the group, Bob joins
    t.advance(59_999);
    expect([...(await t.groupsOf(ALICE))]).toEqual([ONCALL]);
    expect([...(await t.groupsOf(BOB))]).toEqual([]);
    expect(slack.calls('usergroups.users.list')).toHaveLength(1);
    t.advance(1);
    expect([...(await t.groupsOf(ALICE))]).toEqual([]);
    expect([...(await t.groupsOf(BOB))]).toEqual([ONCALL]);
    expect(slack.calls('usergroups.users.list')).toHaveLength(2);
  });

  it('a failed lookup grants nobody, and is kept only briefly (15 s, not the TTL): the next click after that asks Slack again', async () => {
    slack.setUsergroup(ONCALL, [ALICE]);
    slack.failNext('usergroups.users.list', { error: 'ratelimited' });
    const t = setup({ groups: [ONCALL], ttlMs: 60_000 });
    expect([...(await t.groupsOf(ALICE))]).toEqual([]);
    t.advance(10_000);
    expect([...(await t.groupsOf(ALICE))]).toEqual([]);
    expect(slack.calls('usergroups.users.list')).toHaveLength(1);
    t.advance(6_000);
    expect([...(await t.groupsOf(ALICE))]).toEqual([ONCALL]);
    expect(slack.calls('usergroups.users.list')).toHaveLength(2);
  });

  it('concurrent lookups share one load', async () => {
    slack.setUsergroup(ONCALL, [ALICE, BOB]);
    const t = setup({ groups: [ONCALL] });
    const [a, b] = await Promise.all([t.groupsOf(ALICE), t.groupsOf(BOB)]);
    expect([...a, ...b]).toEqual([ONCALL, ONCALL]);
    expect(slack.calls('usergroups.users.list')).toHaveLength(1);
  });
});
