// alerts.<source>.cloudLabel (issue 15): an alert that names a cloud opens its request in that cloud,
// on a card of its own; a name force-down is not configured for opens a request whose card says
// so and offers only Cancel (a confirmation is refused UNKNOWN_CLOUD); no label: the default cloud.
// The alert use case over the memory store, the real Slack cards against the fake Slack Web API,
// and two fake Novas (the default cloud "prod" and "east") that count their calls.
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { receiveAlerts, type AlertIntakeOptions } from '../../../src/app/alerts.js';
import { openBulkConfirmation } from '../../../src/app/bulk.js';
import { cancelRequest, confirmRequest, openConfirmationForm } from '../../../src/app/requests.js';
import type { HostAlert } from '../../../src/alerts/types.js';
import type { ForceDownRequest } from '../../../src/domain/request.js';
import { ACTION_IDS, GROUP_ACTION_IDS } from '../../../src/slack/ids.js';
import { refusalText } from '../../../src/slack/messages.js';
import { createChannelPacer } from '../../../src/slack/pacer.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { fakeNova, setup as bench, svc } from '../app/harness.js';

const CHANNEL = 'C0ONCALL01';
const APPROVER = 'U0APPROVER';

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(async () => slack.close());
beforeEach(() => slack.reset());

function setup() {
  let seq = 0;
  const prod = fakeNova([svc('compute1'), svc('compute2')]);
  const east = fakeNova([svc('compute1'), svc('east7')]);
  const novas: Record<string, typeof prod> = { prod, east };
  const client = new WebClient('xoxb-unit-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  const t = bench(
    {
      policy: { approverUsers: new Set([APPROVER]), approverGroups: new Set(), twoPerson: false },
      allowedChannels: new Set([CHANNEL]),
      newId: () => `id-${String(++seq).padStart(4, '0')}`,
      nova: (name) => novas[name]?.gateway,
    },
    { slack: { client, pacer: createChannelPacer({ minIntervalMs: 1, burst: 50 }) } },
  );
  const opts: AlertIntakeOptions = { source: 'alertmanager', channel: CHANNEL, autoForceDown: false, evidenceLabel: { name: 'fenced', value: 'true' } };
  const all = async (): Promise<ForceDownRequest[]> =>
    (await Promise.all((['pending', 'approved', 'executing', 'succeeded', 'failed', 'cancelled'] as const).map((s) => t.deps.store.listByState(s)))).flat();
  return { ...t, prod, east, opts, all };
}

function alert(host: string, cloud: string | undefined, over: Partial<HostAlert> = {}): HostAlert {
  return { source: 'alertmanager', host, status: 'firing', fingerprint: `fp-${host}-${cloud ?? ''}`, alertName: 'NodeDown', fencedEvidence: false, ...(cloud !== undefined ? { cloud } : {}), ...over };
}

const cards = () => slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === undefined);
const text = (c: { body: Record<string, unknown> }) => JSON.stringify(c.body.blocks);
function buttons(blocks: unknown): { action_id: string; value?: string }[] {
  const out: { action_id: string; value?: string }[] = [];
  for (const b of (blocks ?? []) as { accessory?: { type: string; action_id: string; value?: string }; elements?: { type: string; action_id: string; value?: string }[] }[]) {
    if (b.accessory?.type === 'button') out.push(b.accessory);
    for (const e of b.elements ?? []) if (e.type === 'button') out.push(e);
  }
  return out;
}
const approver = { userId: APPROVER, userGroups: new Set<string>() };

describe('cloudLabel routing', () => {
  it('a known cloud: the request is opened in it, on a card of its own beside the default cloud’s', async () => {
    const t = setup();
    const receipt = await receiveAlerts(t.deps, [alert('compute1', 'east'), alert('compute2', undefined), alert('compute1', undefined)], t.opts);
    expect(receipt).toMatchObject({ opened: 3, failed: 0 });
    await t.drain();
    const requests = await t.all();
    expect(requests.map((r) => [r.host, r.cloud]).sort()).toEqual([
      ['compute1', 'east'],
      ['compute1', 'prod'],
      ['compute2', 'prod'],
    ]);
    // Same alert name, two clouds: two cards, each naming its cloud; the east card read east's Nova.
    const posted = cards();
    expect(posted).toHaveLength(2);
    const eastCard = posted.find((c) => text(c).includes('east'))!;
    expect(eastCard).toBeDefined();
    const eastRequest = requests.find((r) => r.cloud === 'east')!;
    expect(buttons(eastCard.body.blocks)).toContainEqual(expect.objectContaining({ action_id: ACTION_IDS.confirmFenced, value: eastRequest.id }));
    expect(t.east.reads.list + t.east.reads.get).toBeGreaterThan(0);

    // Confirmed, it forces the host down in east's Nova, and only there.
    const form = await openConfirmationForm(t.deps, { id: eastRequest.id, ...approver });
    expect(form.kind).toBe('opened');
    if (form.kind !== 'opened') return;
    const done = await confirmRequest(t.deps, { id: eastRequest.id, ...approver, method: 'bmc', form: form.form });
    expect(done.kind).toBe('done');
    await t.drain();
    expect(t.east.calls).toEqual([{ host: 'compute1', forcedDown: true }]);
    expect(t.prod.calls).toEqual([]);
  });

  it('the default cloud named explicitly is the default cloud: one card with the unlabelled hosts', async () => {
    const t = setup();
    await receiveAlerts(t.deps, [alert('compute1', 'prod'), alert('compute2', undefined)], t.opts);
    await t.drain();
    expect((await t.all()).map((r) => r.cloud)).toEqual(['prod', 'prod']);
    expect(cards()).toHaveLength(1);
  });

  it('no label: FORCE_DOWN_DEFAULT_CLOUD, as before', async () => {
    const t = setup();
    await receiveAlerts(t.deps, [alert('compute2', undefined)], t.opts);
    expect((await t.all()).map((r) => r.cloud)).toEqual(['prod']);
  });

  it('an unknown cloud: the request is opened with that name; its card says the cloud is not configured and offers only Cancel', async () => {
    const t = setup();
    const receipt = await receiveAlerts(t.deps, [alert('compute9', 'nowhere')], t.opts);
    expect(receipt).toMatchObject({ opened: 1, failed: 0 });
    await t.drain();
    const [request] = await t.all();
    expect(request).toMatchObject({ host: 'compute9', cloud: 'nowhere', state: 'pending' });
    const [card] = cards();
    expect(text(card!)).toContain('cloud nowhere is not configured in force-down');
    expect(buttons(card!.body.blocks).map((b) => b.action_id)).toEqual([ACTION_IDS.cancelRequest]);

    // Confirm is refused if ever clicked (a stale card, a forged click), and no Nova is called.
    expect(await openConfirmationForm(t.deps, { id: request!.id, ...approver })).toMatchObject({ kind: 'refused', refusal: 'UNKNOWN_CLOUD' });
    expect(await confirmRequest(t.deps, { id: request!.id, ...approver, method: 'bmc' })).toMatchObject({ kind: 'refused', refusal: 'UNKNOWN_CLOUD' });
    // What the clicker is told.
    expect(refusalText('UNKNOWN_CLOUD', { host: 'compute9', action: 'force-down', cloud: 'nowhere' })).toBe(
      "force-down has no cloud named “nowhere”: check `--cloud` (or the alert's cloud label) against the clouds in force-down's secret.",
    );
    await t.drain();
    expect((await t.deps.store.get(request!.id))!.state).toBe('pending');
    expect([...t.prod.calls, ...t.east.calls]).toEqual([]);

    // Cancel works.
    expect(await cancelRequest(t.deps, { id: request!.id, ...approver })).toMatchObject({ kind: 'done' });
    await t.drain();
    expect((await t.deps.store.get(request!.id))!.state).toBe('cancelled');
  });

  it('several hosts of an unknown cloud: a grouped card whose rows offer no Confirm fenced…', async () => {
    const t = setup();
    await receiveAlerts(t.deps, ['n1', 'n2', 'n3'].map((h) => alert(h, 'nowhere')), t.opts);
    await t.drain();
    const [card] = cards();
    const shown = text(card!);
    expect(shown).toContain('cloud nowhere is not configured in force-down');
    expect(buttons(card!.body.blocks).filter((b) => b.action_id === ACTION_IDS.confirmFenced)).toEqual([]);
    // Neither Confirm all fenced… (none of them can be confirmed); Cancel all… and each row's Cancel stay.
    const ids = buttons(card!.body.blocks).map((b) => b.action_id);
    expect(ids).not.toContain(GROUP_ACTION_IDS.confirmAll);
    expect(ids).toContain(GROUP_ACTION_IDS.cancelAll);
    expect(ids.filter((id) => id === ACTION_IDS.cancelRequest)).toHaveLength(3);
  });

  it('Confirm all fenced… never offers a host of an unknown cloud; only such hosts: refused UNKNOWN_CLOUD', async () => {
    const t = setup();
    // One alert name, two clouds: the known cloud's hosts on one card, the unknown one's on another.
    await receiveAlerts(t.deps, [alert('compute1', undefined), alert('compute2', undefined), alert('n1', 'nowhere'), alert('n2', 'nowhere')], t.opts);
    await t.drain();
    const requests = await t.all();
    const groupOf = (host: string) => requests.find((r) => r.host === host)!.group!;
    const known = await openBulkConfirmation(t.deps, { group: groupOf('compute1'), ...approver, limit: 100 });
    expect(known.kind === 'opened' && known.requests.map((r) => r.host)).toEqual(['compute1', 'compute2']);
    expect(await openBulkConfirmation(t.deps, { group: groupOf('n1'), ...approver, limit: 100 })).toMatchObject({ kind: 'refused', refusal: 'UNKNOWN_CLOUD' });
  });

  it('auto mode never confirms a request of an unknown cloud', async () => {
    const t = setup();
    const receipt = await receiveAlerts(t.deps, [alert('compute9', 'nowhere', { fencedEvidence: true })], { ...t.opts, autoForceDown: true });
    expect(receipt).toMatchObject({ opened: 1, auto: 0 });
    expect((await t.all())[0]!.state).toBe('pending');
  });

  it('a resolved alert marks the open request of the cloud it names', async () => {
    const t = setup();
    await receiveAlerts(t.deps, [alert('compute1', 'east'), alert('compute1', undefined)], t.opts);
    await t.drain();
    const receipt = await receiveAlerts(t.deps, [alert('compute1', 'east', { status: 'resolved' })], t.opts);
    expect(receipt).toMatchObject({ resolved: 1, recoveryChecks: 0 });
    const byCloud = Object.fromEntries((await t.all()).map((r) => [r.cloud, r.alertResolvedAt !== undefined]));
    expect(byCloud).toEqual({ east: true, prod: false });
  });

  it('a resolved alert of a known cloud without an open request asks that cloud about recovery; of an unknown one, nothing', async () => {
    const t = setup();
    const receipt = await receiveAlerts(t.deps, [alert('east7', 'east', { status: 'resolved' }), alert('x1', 'nowhere', { status: 'resolved' })], t.opts);
    expect(receipt).toMatchObject({ recoveryChecks: 1 });
    expect(t.jobs).toEqual([expect.objectContaining({ kind: 'alert-recovery', cloud: 'east', alerts: [expect.objectContaining({ host: 'east7' })] })]);
  });

  it('recovery in two clouds for one alert name: a card each, each unset request in its own cloud', async () => {
    const t = setup();
    t.east.hosts['east7']!.forcedDown = true;
    t.prod.hosts['compute2']!.forcedDown = true;
    await receiveAlerts(t.deps, [alert('east7', 'east', { status: 'resolved' }), alert('compute2', undefined, { status: 'resolved' })], t.opts);
    await t.drain();
    const unsets = (await t.all()).filter((r) => r.action === 'unset');
    expect(unsets.map((r) => [r.host, r.cloud]).sort()).toEqual([
      ['compute2', 'prod'],
      ['east7', 'east'],
    ]);
    expect(new Set(unsets.map((r) => r.group)).size).toBe(2);
    expect(cards()).toHaveLength(2);
  });
});
