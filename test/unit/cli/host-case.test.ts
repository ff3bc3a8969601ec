// A mis-cased host name on the CLI (issue #11, finding 10): Nova's lookup is
// exact on every database, so the CLI acts on no name Nova does not spell so;
// on HOST_NOT_FOUND it lists Nova's services once and suggests the spelling.
import { describe, expect, it } from 'vitest';
import { harness, secretFile } from './harness.js';

const notFound = (host: string) => ({ code: 'HOST_NOT_FOUND' as const, message: `Nova has no nova-compute service on a host named ${host}`, request: 'GET /os-services', status: 200 });
const env = () => ({ FORCE_DOWN_SECRET_FILE: secretFile(['prod'], { botToken: false }) });

describe('a host name Nova spells otherwise', () => {
  it('status COMPUTE1 → HOST_NOT_FOUND, "did you mean compute1?", exit 3', async () => {
    const h = harness({ getFailure: notFound('COMPUTE1') });
    const r = await h.run(['status', 'COMPUTE1'], env());
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^force-down: COMPUTE1 on prod: HOST_NOT_FOUND: Nova has no nova-compute service on a host named COMPUTE1 — did you mean compute1\? \(Nova's host names are case-sensitive\)/);
    expect(h.events.filter((e) => e.startsWith('nova'))).toEqual(['nova GET COMPUTE1', 'nova LIST']);
  });

  it('--unset Compute2 --json: the suggestion as didYouMean, and Nova was not changed under another name', async () => {
    const h = harness({ putFailure: notFound('Compute2') });
    const r = await h.run(['--unset', 'Compute2', '--json'], env());
    expect(r.code).toBe(3);
    expect(r.json).toMatchObject({ ok: false, code: 'HOST_NOT_FOUND', host: 'Compute2', didYouMean: ['compute2'] });
    expect(r.json.message).toBe('Nova has no nova-compute service on a host named Compute2');
  });

  it('a force-down refused by the heartbeat watch\'s lookup gets the suggestion too', async () => {
    const h = harness({ getFailure: notFound('Compute1') });
    const r = await h.run(['Compute1', '--fenced', 'bmc'], env());
    expect(r.code).toBe(3);
    expect(r.err).toContain('did you mean compute1?');
    expect(h.events.filter((e) => e.startsWith('nova PUT'))).toEqual([]);
  });

  it('no suggestion for a name Nova has in no case, nor for other failures; no list when the host is found', async () => {
    const h = harness({ getFailure: notFound('nosuch') });
    const r = await h.run(['status', 'nosuch', '--json'], env());
    expect(r.json).toMatchObject({ ok: false, code: 'HOST_NOT_FOUND' });
    expect(r.json).not.toHaveProperty('didYouMean');

    const down = harness({ getFailure: { code: 'NOVA_UNAVAILABLE', message: 'Nova did not answer' } });
    await down.run(['status', 'compute1'], env());
    expect(down.events).not.toContain('nova LIST');

    const ok = harness();
    expect((await ok.run(['status', 'compute1'], env())).code).toBe(0);
    expect(ok.events).not.toContain('nova LIST');
  });
});
