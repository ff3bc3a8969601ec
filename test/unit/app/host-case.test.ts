// Case variants of a host name (issue #11, finding 10): RT1, Rt1 and rt1 are
// one host with one open request; once the card's lookup finds the host,
// Nova's own spelling is what the card, the audit and the Nova calls use.
// Nova here is a fake gateway: exact (PostgreSQL, SQLite) or case-insensitive
// (MySQL's default collation).
import { describe, expect, it } from 'vitest';
import type { NovaGateway } from '../../../src/app/ports.js';
import { confirmRequest, openRequest } from '../../../src/app/requests.js';
import { fail, succeed } from '../../../src/domain/failure.js';
import { APPROVER, fakeNova, setup, slash, svc } from './harness.js';

/** A fake Nova whose host filter matches whatever the case, as MySQL's default collation does; counts lists. */
function caseInsensitive(base: ReturnType<typeof fakeNova>): NovaGateway & { lists: number } {
  const gw = {
    lists: 0,
    ...base.gateway,
    async getService(host: string) {
      const s = Object.values(base.hosts).find((x) => x.host.toLowerCase() === host.toLowerCase());
      return s ? succeed({ ...s }) : fail({ code: 'HOST_NOT_FOUND' as const, message: `no ${host}` });
    },
    async listComputeServices() {
      gw.lists++;
      return base.gateway.listComputeServices();
    },
  };
  return gw;
}

function bench(hosts: string[], opts: { mysql?: boolean } = {}) {
  const nova = fakeNova(Object.fromEntries(hosts.map((h) => [h, svc(h)])));
  let lists = 0;
  const exact: NovaGateway = {
    ...nova.gateway,
    listComputeServices: async () => {
      lists++;
      return nova.gateway.listComputeServices();
    },
  };
  const mysql = caseInsensitive(nova);
  const gateway = opts.mysql ? mysql : exact;
  const t = setup({ nova: (cloud) => (cloud === 'prod' ? gateway : undefined) });
  return { ...t, nova, lists: () => (opts.mysql ? mysql.lists : lists) };
}

describe('case variants of a host name', () => {
  it('RT1, Rt1 and rt1 at once → one request and one card; the others answer "already open" with it', async () => {
    const t = bench(['rt1']);
    const results = await Promise.all(['RT1', 'Rt1', 'rt1'].map((host) => openRequest(t.deps, slash({ host }))));
    expect(results.map((r) => r.kind).sort()).toEqual(['exists', 'exists', 'opened']);
    const opened = results.find((r) => r.kind === 'opened')!;
    for (const r of results) if (r.kind === 'exists') expect(r.request.id).toBe(opened.kind === 'opened' ? opened.request.id : '');
    await t.drain();
    expect(t.renders).toHaveLength(1);
  });

  it.each([
    ['a case-sensitive Nova (PostgreSQL, SQLite): found by one service list', false],
    ['a MySQL Nova (its lookup matches whatever the case)', true],
  ])("%s: Nova's spelling is recorded, shown on the card and the audit line, and used for the PUT", async (_label, mysql) => {
    const t = bench(['rt1'], { mysql });
    const opened = await openRequest(t.deps, slash({ host: 'RT1' }));
    expect(opened.kind).toBe('opened');
    const id = opened.kind === 'opened' ? opened.request.id : '';
    await t.drain();

    const stored = await t.deps.store.get(id);
    expect(stored).toMatchObject({ host: 'rt1', requestedHost: 'RT1' });
    expect(t.renders).toHaveLength(1);
    expect(t.renders[0]).toMatchObject({ host: 'rt1' });
    expect(t.audits.map((a) => a.entry.state)).toEqual(['pending']);
    expect(t.lists()).toBe(mysql ? 0 : 1);
    // A later variant still finds it.
    expect(await openRequest(t.deps, slash({ host: 'rT1' }))).toMatchObject({ kind: 'exists', request: { id, host: 'rt1' } });

    expect(await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc' })).toMatchObject({ kind: 'done' });
    await t.drain();
    expect(t.nova.calls).toEqual([{ host: 'rt1', forcedDown: true }]);
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'succeeded', host: 'rt1', requestedHost: 'RT1' });
    expect(t.renders.at(-1)).toMatchObject({ host: 'rt1', state: 'succeeded' });
  });

  it('the same spelling costs nothing more: one lookup, no list, no requestedHost', async () => {
    const t = bench(['rt1']);
    const opened = await openRequest(t.deps, slash({ host: 'rt1' }));
    await t.drain();
    expect(t.lists()).toBe(0);
    const stored = await t.deps.store.get(opened.kind === 'opened' ? opened.request.id : '');
    expect(stored).toMatchObject({ host: 'rt1' });
    expect(stored).not.toHaveProperty('requestedHost');
  });

  it('two hosts differing in case only (a case-sensitive Nova may hold both): neither is chosen; the card names both; no PUT', async () => {
    const t = bench(['rt1', 'Rt1']);
    const opened = await openRequest(t.deps, slash({ host: 'RT1' }));
    const id = opened.kind === 'opened' ? opened.request.id : '';
    const views: unknown[] = [];
    const render = t.deps.cards.request.bind(t.deps.cards);
    t.deps.cards.request = async (request, view) => {
      views.push(view);
      return render(request, view);
    };
    await t.drain();
    expect(await t.deps.store.get(id)).toMatchObject({ host: 'RT1' });
    expect(views[0]).toEqual({
      lookupFailure: {
        code: 'HOST_NOT_FOUND',
        message: "Nova has no nova-compute service on a host named RT1, but has Rt1, rt1: Nova's host names are case-sensitive here, so ask for the one you mean",
      },
    });
    await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc' });
    await t.drain();
    expect(t.nova.calls).toEqual([]);
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'failed', outcome: { code: 'HOST_NOT_FOUND' } });
  });

  it('an unknown host stays as asked, HOST_NOT_FOUND on the card', async () => {
    const t = bench(['rt1']);
    const opened = await openRequest(t.deps, slash({ host: 'nosuch' }));
    await t.drain();
    expect(await t.deps.store.get(opened.kind === 'opened' ? opened.request.id : '')).toMatchObject({ host: 'nosuch' });
    expect(t.renders[0]).toMatchObject({ host: 'nosuch' });
  });
});
