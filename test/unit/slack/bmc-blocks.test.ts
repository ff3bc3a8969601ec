// What people see of a host's BMC (issue 13): the card's BMC line, the modal's
// "Power off now via the BMC (Redfish)", the submission parser, the audit line's
// evidence, the ❌ for BMC_SAYS_ON, and /force-down status.
import { describe, expect, it } from 'vitest';
import type { BmcView } from '../../../src/app/ports.js';
import { auditLine, fenceModal, requestCard, validateFenceSubmission } from '../../../src/slack/blocks.js';
import { MODAL_INPUTS, VERIFIED_OPTION_VALUE } from '../../../src/slack/ids.js';
import { createSlackNotifier } from '../../../src/slack/notifier.js';
import { aRequest, aService, CONFIRMATION, NOW } from './builders.js';

const ON: BmcView = { ok: true, powerState: 'On', readAt: NOW - 5_000 };
const OFF: BmcView = { ok: true, powerState: 'Off', readAt: NOW - 5_000 };
const UNREACHABLE: BmcView = { ok: false, code: 'BMC_UNREACHABLE', message: "compute1's BMC (https://10.0.0.7): timed out", reason: 'timeout', readAt: NOW - 5_000 };

const text = (x: unknown) => JSON.stringify(x);

type Option = { value: string; text: { text: string }; description?: { text: string } };
function methodOptions(modal: ReturnType<typeof fenceModal>): Option[] {
  const block = modal.blocks.find((b) => b.block_id === MODAL_INPUTS.method.blockId) as { element: { options: Option[] } };
  return block.element.options;
}

describe('the card', () => {
  it('shows the BMC line beside Nova\'s view, with ⚠ when it reads On', () => {
    const card = text(requestCard(aRequest(), { service: aService(), bmc: ON, now: NOW }).blocks);
    expect(card).toContain('*BMC*: power On · read ');
    expect(card).toContain("⚠ *compute1*'s BMC reports power On: it is running, not fenced");
  });

  it('Off: the line and no ⚠; unreachable: "BMC unreachable (reason)"; other states as read', () => {
    const off = text(requestCard(aRequest(), { service: aService(), bmc: OFF, now: NOW }).blocks);
    expect(off).toContain('*BMC*: power Off');
    expect(off).not.toContain('⚠ *compute1*');
    expect(text(requestCard(aRequest(), { service: aService(), bmc: UNREACHABLE, now: NOW }).blocks)).toContain('*BMC*: BMC unreachable (timeout)');
    expect(text(requestCard(aRequest(), { service: aService(), bmc: { ok: true, powerState: 'PoweringOff', readAt: NOW }, now: NOW }).blocks)).toContain('power PoweringOff');
  });

  it('a host without a BMC: no BMC line, exactly as before', () => {
    const without = requestCard(aRequest(), { service: aService(), now: NOW });
    expect(text(without.blocks)).not.toContain('BMC*:');
    expect(without.blocks.some((b) => b.block_id === 'bmc')).toBe(false);
  });

  it('while the worker powers the host off: "⏳ powering compute1 off via its BMC… (PowerState: On)"', () => {
    const r = aRequest({ state: 'executing', confirmation: { ...CONFIRMATION, method: 'power-off' } });
    const card = requestCard(r, { poweringOff: 'On', now: NOW });
    expect(text(card.blocks)).toContain('⏳ powering *compute1* off via its BMC… (PowerState: On)');
  });

  it('BMC_SAYS_ON: "… is not forced down: its BMC reports power On", with Retry…', () => {
    const r = aRequest({ state: 'failed', confirmation: CONFIRMATION, outcome: { code: 'BMC_SAYS_ON', message: 'x', bmc: { powerState: 'On', readAt: '2026-11-25T14:06:00.000Z' } } });
    const card = text(requestCard(r, { now: NOW }).blocks);
    expect(card).toContain('❌ *compute1* is not forced down: its BMC reports power On');
    expect(card).toContain('Retry…');
  });
});

describe('the modal', () => {
  it('a host with a BMC: "Power off now via the BMC (Redfish)" first, "BMC power-off" described as already done', () => {
    const options = methodOptions(fenceModal(aRequest(), undefined, 'form-1', true));
    expect(options[0]).toMatchObject({ value: 'power-off', text: { text: 'Power off now via the BMC (Redfish)' } });
    const bmc = options.find((o) => o.value === 'bmc')!;
    expect(bmc.text.text).toBe('BMC power-off (IPMI/Redfish)');
    expect(bmc.description?.text).toContain('already done; force-down checks');
    expect(options.map((o) => o.value)).toEqual(['power-off', 'bmc', 'pdu', 'network', 'dead', 'other']);
  });

  it('a host without a BMC: the methods as before, no power-off', () => {
    const options = methodOptions(fenceModal(aRequest(), undefined, 'form-1'));
    expect(options.map((o) => o.value)).toEqual(['bmc', 'pdu', 'network', 'dead', 'other']);
    expect(options.every((o) => o.description === undefined)).toBe(true);
  });

  it('shows the power state the worker read (and ⚠ on On)', () => {
    const modal = text(fenceModal(aRequest(), { service: aService(), bmc: ON, now: NOW }, 'form-1'));
    expect(modal).toContain('*BMC*: power On');
    expect(modal).toContain('is refused until it reads Off');
  });
});

describe('the submission', () => {
  const { method: M, verified: V } = MODAL_INPUTS;
  const values = (method: string, ticked: boolean) => ({
    [M.blockId]: { [M.actionId]: { type: 'static_select', selected_option: { value: method } } },
    [V.blockId]: { [V.actionId]: { type: 'checkboxes', selected_options: ticked ? [{ value: VERIFIED_OPTION_VALUE }] : [] } },
  });

  it('power-off is accepted only for a host with a BMC, and needs no ticked box', () => {
    expect(validateFenceSubmission(values('power-off', false), 'force-down', { bmc: true })).toEqual({ ok: true, method: 'power-off' });
    expect(validateFenceSubmission(values('power-off', true), 'force-down')).toMatchObject({ ok: false, errors: { [M.blockId]: expect.stringContaining('no BMC') } });
    expect(validateFenceSubmission(values('power-off', true), 'force-down', { bmc: false })).toMatchObject({ ok: false });
  });

  it('the other methods still need the ticked box, BMC or not', () => {
    expect(validateFenceSubmission(values('bmc', false), 'force-down', { bmc: true })).toMatchObject({ ok: false, errors: { [V.blockId]: expect.any(String) } });
    expect(validateFenceSubmission(values('bmc', true), 'force-down', { bmc: true })).toEqual({ ok: true, method: 'bmc' });
  });
});

describe('the audit line', () => {
  it('power off now: who, "BMC power-off via Redfish", the reset sent at, Off seen at', () => {
    const r = aRequest({
      state: 'succeeded',
      confirmation: { ...CONFIRMATION, method: 'power-off' },
      outcome: {
        code: 'OK',
        message: 'forced down',
        request: 'PUT /os-services/{id}',
        bmc: { powerState: 'Off', readAt: '2026-11-25T14:05:09.000Z', reset: { resetType: 'ForceOff', sentAt: '2026-11-25T14:05:02.000Z', offAt: '2026-11-25T14:05:09.000Z' } },
      },
    });
    const line = auditLine(r, { state: 'succeeded', at: '2026-11-25T14:05:10.000Z' });
    expect(line).toContain('BMC power-off via Redfish by <@U0APPROVE1>: ForceOff sent at `2026-11-25T14:05:02.000Z`, `Off` seen at `2026-11-25T14:05:09.000Z`');
    const asked = auditLine(r, { state: 'approved', at: '2026-11-25T14:05:00.000Z', by: 'U0APPROVE1' });
    expect(asked).toContain('asked force-down to power *compute1* off via its BMC (Redfish)');
  });
});

describe('/force-down status', () => {
  it('adds the BMC reading on a line of its own, and nothing for a host without one', async () => {
    const posted: string[] = [];
    const notifier = createSlackNotifier({
      client: {} as never,
      now: () => NOW,
      log: { info() {}, warn() {}, error() {} },
      postToResponseUrl: async (_url, message) => void posted.push(String(message.text)),
    });
    await notifier.replyStatus('https://hooks.slack.com/x', 'prod', 'compute1', { ok: true, value: aService() }, ON);
    await notifier.replyStatus('https://hooks.slack.com/x', 'prod', 'compute1', { ok: true, value: aService() });
    expect(posted[0]).toContain('\n*BMC*: power On · read ');
    expect(posted[0]).toContain("⚠ *compute1*'s BMC reports power On");
    expect(posted[1]).not.toContain('BMC');
  });
});
