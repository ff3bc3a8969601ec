// Issue 15: Confirm all fenced…'s modal (bulk-blocks.ts) within Slack's limits, and its submission's checks.
import { describe, expect, it } from 'vitest';
import type { ForceDownRequest } from '../../../src/domain/request.js';
import { bulkModal, decodeBulkMetadata, validateBulkSubmission } from '../../../src/slack/bulk-blocks.js';
import { LIMITS } from '../../../src/slack/card-parts.js';
import { BULK_INPUTS, BULK_MODAL_CALLBACK_ID, VERIFIED_OPTION_VALUE } from '../../../src/slack/ids.js';
import { aRequest } from './builders.js';

const requests = (n: number, host = (i: number) => `rack${String(i).padStart(2, '0')}`): ForceDownRequest[] =>
  Array.from({ length: n }, (_, k) => aRequest({ id: `req-${k + 1}`, host: host(k + 1), group: 'grp-1' }));

type Json = Record<string, unknown>;
const block = (view: { blocks: unknown[] }, id: string) => view.blocks.find((b) => (b as Json).block_id === id) as Json;

function values(o: { ids?: string[]; method?: string; verified?: boolean; note?: string }) {
  return {
    [BULK_INPUTS.hosts.blockId]: { [BULK_INPUTS.hosts.actionId]: { type: 'multi_static_select', selected_options: (o.ids ?? []).map((value) => ({ value, text: { type: 'plain_text', text: value } })) } },
    [BULK_INPUTS.method.blockId]: { [BULK_INPUTS.method.actionId]: { type: 'static_select', selected_option: o.method ? { value: o.method } : null } },
    [BULK_INPUTS.verified.blockId]: { [BULK_INPUTS.verified.actionId]: { type: 'checkboxes', selected_options: o.verified ? [{ value: VERIFIED_OPTION_VALUE }] : [] } },
    [BULK_INPUTS.note.blockId]: { [BULK_INPUTS.note.actionId]: { type: 'plain_text_input', value: o.note ?? null } },
  };
}

describe('the Confirm all fenced… modal', () => {
  it('lists the hosts in a multi-select, all preselected; the box names the count; one fencing method without "power off now"', () => {
    const view = bulkModal({ group: 'grp-1', form: 'nonce-1', requests: requests(12), more: 0 });
    expect(view.callback_id).toBe(BULK_MODAL_CALLBACK_ID);
    expect(decodeBulkMetadata(view.private_metadata)).toEqual({ group: 'grp-1', form: 'nonce-1', count: 12 });
    const select = block(view, BULK_INPUTS.hosts.blockId).element as Json;
    expect(select.type).toBe('multi_static_select');
    expect((select.options as Json[]).map((o) => o.value)).toEqual(requests(12).map((r) => r.id));
    expect(select.initial_options).toEqual(select.options);
    const tick = (block(view, BULK_INPUTS.verified.blockId).element as { options: { text: { text: string } }[] }).options[0]!;
    expect(tick.text.text).toBe('I verified these 12 hosts are powered off or isolated');
    const methods = (block(view, BULK_INPUTS.method.blockId).element as { options: { value: string }[] }).options.map((o) => o.value);
    expect(methods).toEqual(['bmc', 'pdu', 'network', 'dead', 'other']);
    expect(view.submit?.text).toBe('Force down 12 hosts');
    expect(JSON.stringify(view)).not.toContain('more: confirm these');
  });

  it('100 hosts and 50 more: 100 options (Slack\'s limit), and the modal says what to do for the rest; every text within its limit', () => {
    const view = bulkModal({ group: 'grp-1', form: 'nonce-1', requests: requests(100, (i) => `${'h'.repeat(200)}${i}`), more: 50 });
    const options = (block(view, BULK_INPUTS.hosts.blockId).element as { options: { text: { text: string }; value: string }[] }).options;
    expect(options).toHaveLength(100);
    for (const o of options) expect(o.text.text.length).toBeLessThanOrEqual(LIMITS.optionText);
    expect(JSON.stringify(view)).toContain('50 more: confirm these, then press Confirm all fenced… again for the rest');
    expect(view.title.text.length).toBeLessThanOrEqual(LIMITS.modalTitle);
    expect(view.submit!.text.length).toBeLessThanOrEqual(LIMITS.modalButton);
    expect(view.private_metadata!.length).toBeLessThanOrEqual(3000);
    expect(view.blocks.length).toBeLessThanOrEqual(100);
  });

  it('one host: the box says "this host"', () => {
    const view = bulkModal({ group: 'grp-1', form: 'f', requests: requests(1), more: 0 });
    expect(JSON.stringify(view)).toContain('I verified this host is powered off or isolated');
  });
});

describe('validateBulkSubmission', () => {
  it('accepts the selected hosts (fewer than the box names too), a method, the tick and a note', () => {
    expect(validateBulkSubmission(values({ ids: ['req-1', 'req-2', 'req-1'], method: 'pdu', verified: true, note: ' rack PDU off ' }), 12)).toEqual({ ok: true, ids: ['req-1', 'req-2'], method: 'pdu', note: 'rack PDU off' });
  });

  it('refuses no host, no method, no tick, "other" without a note, "power-off", and more hosts than the form lists', () => {
    const none = validateBulkSubmission(values({}), 12);
    expect(none.ok).toBe(false);
    if (!none.ok) expect(Object.keys(none.errors).sort()).toEqual([BULK_INPUTS.hosts.blockId, BULK_INPUTS.method.blockId, BULK_INPUTS.verified.blockId].sort());
    const other = validateBulkSubmission(values({ ids: ['req-1'], method: 'other', verified: true }), 12);
    expect(other).toMatchObject({ ok: false, errors: { [BULK_INPUTS.note.blockId]: expect.stringContaining('other') } });
    expect(validateBulkSubmission(values({ ids: ['req-1'], method: 'power-off', verified: true }), 12)).toMatchObject({ ok: false, errors: { [BULK_INPUTS.method.blockId]: expect.any(String) } });
    expect(validateBulkSubmission(values({ ids: ['a', 'b', 'c'], method: 'pdu', verified: true }), 2)).toMatchObject({ ok: false, errors: { [BULK_INPUTS.hosts.blockId]: expect.any(String) } });
    expect(validateBulkSubmission('garbage', 2).ok).toBe(false);
  });

  it('metadata: anything but the modal\'s own is refused', () => {
    for (const bad of [undefined, '', 'req-1', '{"group":"g","form":"f"}', '{"group":"g","form":"f","count":0}', '{"group":"g","form":"f","count":101}']) expect(decodeBulkMetadata(bad)).toBeUndefined();
  });
});
