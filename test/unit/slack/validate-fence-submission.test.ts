import { describe, expect, it } from 'vitest';
import { validateFenceSubmission } from '../../../src/slack/blocks.js';
import { MODAL_INPUTS, VERIFIED_OPTION_VALUE } from '../../../src/slack/ids.js';

const { method: M, verified: V, note: N } = MODAL_INPUTS;

/** `view.state.values` as Slack sends it in a view_submission payload. */
function values(over: { method?: string | null; ticked?: boolean; note?: string | null } = {}) {
  const { method = 'bmc', ticked = true, note = null } = over;
  return {
    [M.blockId]: {
      [M.actionId]: {
        type: 'static_select',
        selected_option: method === null ? null : { text: { type: 'plain_text', text: 'x', emoji: true }, value: method },
      },
    },
    [V.blockId]: {
      [V.actionId]: {
        type: 'checkboxes',
        selected_options: ticked ? [{ text: { type: 'plain_text', text: 'I verified compute1 is powered off or isolated' }, value: VERIFIED_OPTION_VALUE }] : [],
      },
    },
    [N.blockId]: { [N.actionId]: { type: 'plain_text_input', value: note } },
  };
}

describe('validateFenceSubmission', () => {
  it('accepts a method and a ticked box; the note is optional and trimmed', () => {
    expect(validateFenceSubmission(values())).toEqual({ ok: true, method: 'bmc' });
    expect(validateFenceSubmission(values({ method: 'pdu', note: '  outlet 7, rack 42 \n' }))).toEqual({ ok: true, method: 'pdu', note: 'outlet 7, rack 42' });
    expect(validateFenceSubmission(values({ note: '   ' }))).toEqual({ ok: true, method: 'bmc' });
  });

  it('refuses a missing method, keyed by block_id for response_action: errors', () => {
    const r = validateFenceSubmission(values({ method: null }));
    expect(r).toEqual({ ok: false, errors: { [M.blockId]: 'Choose how the host was fenced.' } });
  });

  it('refuses a method that is not one of FENCING_METHODS (forged payload)', () => {
    expect(validateFenceSubmission(values({ method: 'toString' }))).toMatchObject({ ok: false, errors: { [M.blockId]: expect.any(String) } });
    expect(validateFenceSubmission(values({ method: 'teleport' }))).toMatchObject({ ok: false, errors: { [M.blockId]: expect.any(String) } });
  });

  it('refuses an unticked box', () => {
    const r = validateFenceSubmission(values({ ticked: false }));
    expect(r.ok).toBe(false);
    expect(!r.ok && Object.keys(r.errors)).toEqual([V.blockId]);
    expect(!r.ok && r.errors[V.blockId]).toMatch(/powered off or isolated/);
  });

  it('reports every problem at once', () => {
    const r = validateFenceSubmission(values({ method: null, ticked: false }));
    expect(!r.ok && Object.keys(r.errors).sort()).toEqual([M.blockId, V.blockId].sort());
  });

  it('asks for a note when the method is "other"', () => {
    expect(validateFenceSubmission(values({ method: 'other' }))).toEqual({ ok: false, errors: { [N.blockId]: expect.stringContaining('other') } });
    expect(validateFenceSubmission(values({ method: 'other', note: 'pulled both PSUs' }))).toEqual({ ok: true, method: 'other', note: 'pulled both PSUs' });
  });

  it('refuses a note longer than 500 characters (a payload Slack would not have sent)', () => {
    expect(validateFenceSubmission(values({ note: 'n'.repeat(501) }))).toMatchObject({ ok: false, errors: { [N.blockId]: expect.any(String) } });
    expect(validateFenceSubmission(values({ note: 'n'.repeat(500) }))).toMatchObject({ ok: true });
  });

  it('unset: needs the ticked box only, ignores any method', () => {
    const { [M.blockId]: _, ...noMethod } = values();
    expect(validateFenceSubmission(noMethod, 'unset')).toEqual({ ok: true });
    expect(validateFenceSubmission(values({ note: 'PSU replaced' }), 'unset')).toEqual({ ok: true, note: 'PSU replaced' });
    expect(validateFenceSubmission({ ...noMethod, ...values({ ticked: false }) }, 'unset')).toEqual({
      ok: false,
      errors: { [V.blockId]: expect.stringMatching(/healthy/) },
    });
  });

  it('treats garbage as nothing filled in', () => {
    for (const junk of [undefined, null, 'x', 42, [], { [V.blockId]: 'x' }]) {
      const r = validateFenceSubmission(junk);
      expect(r.ok).toBe(false);
      expect(!r.ok && Object.keys(r.errors).sort()).toEqual([M.blockId, V.blockId].sort());
    }
  });
});
