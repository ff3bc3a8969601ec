import { describe, expect, it } from 'vitest';
import { FAILURE_CODES, type Failure, type FailureCode } from '../../../src/domain/failure.js';
import type { Refusal } from '../../../src/domain/policy.js';
import type { Action } from '../../../src/domain/request.js';
import { nextStep } from '../../../src/domain/runbook.js';
import {
  alreadyHandledText,
  cancelledText,
  detailSpan,
  expiredText,
  failureHeadline,
  failureText,
  notAuthorizedText,
  openRequestExistsText,
  refusalText,
  slashCommandFor,
  twoPersonRuleText,
} from '../../../src/slack/messages.js';

const ALL_CODES = Object.keys(FAILURE_CODES) as FailureCode[];
const ACTIONS: Action[] = ['force-down', 'unset'];

/** What Nova really says, and exception text: none of it belongs in a headline. */
const RAW_DETAIL = "Policy doesn't allow os_compute_api:os-services:update to be performed. <!channel> Traceback (most recent call last)";

describe('failureText', () => {
  for (const action of ACTIONS) {
    it.each(ALL_CODES)(`%s (${action}) names the host and gives the runbook's next step`, (code) => {
      const failure: Failure = { code, message: RAW_DETAIL, status: 400, detail: RAW_DETAIL, request: 'PUT /os-services/force-down' };
      const t = failureText(failure, { host: 'compute1', action, cloud: 'prod-east' });
      expect(t.headline).toContain('compute1');
      expect(t.text).toContain('compute1');
      expect(t.nextStep).toBe(nextStep(code, 'compute1', action));
      expect(t.text).toContain(nextStep(code, 'compute1', action));
      expect(t.headline).not.toContain('Policy');
      expect(t.text).not.toContain(RAW_DETAIL);
      expect(t.text).not.toContain('Traceback');
      expect(t.text).not.toContain('<!channel>');
      // Headlines are short sentences; the card adds the period.
      expect(t.headline.length).toBeLessThan(200);
      expect(t.headline).not.toMatch(/\.$/);
    });
  }

  it('gives every code its own headline', () => {
    const headlines = new Set(ALL_CODES.map((c) => failureHeadline(c, { host: 'compute1', action: 'force-down' })));
    expect(headlines.size).toBe(ALL_CODES.length);
  });

  it('says what the channel needs for the common cases', () => {
    const ctx = { host: 'compute1', action: 'force-down' as const };
    expect(failureText({ code: 'HOST_NOT_FOUND' }, ctx).headline).toBe('Nova does not know *compute1*');
    expect(failureText({ code: 'HOST_NOT_FOUND' }, { ...ctx, cloud: 'prod-east' }).headline).toBe('Nova does not know *compute1* in *prod-east*');
    expect(failureText({ code: 'EVACUATIONS_PENDING' }, { host: 'compute1', action: 'unset' }).headline).toBe(
      'Nova keeps *compute1* forced down until its evacuated instances are cleaned up',
    );
    expect(failureText({ code: 'NOVA_UNAVAILABLE', status: 503 }, ctx).headline).toBe("Nova's API did not answer (HTTP 503); *compute1* is not forced down");
    expect(failureText({ code: 'NOVA_UNAVAILABLE' }, { host: 'compute1', action: 'unset' }).headline).toBe(
      "Nova's API did not answer; *compute1* is still forced down",
    );
    expect(failureText({ code: 'NOVA_REJECTED', status: 400 }, ctx).headline).toContain('in the thread');
  });

  it('escapes a hostile host name (alerts carry arbitrary labels)', () => {
    const t = failureText({ code: 'NOT_A_COMPUTE_SERVICE' }, { host: 'x<!channel>&', action: 'force-down' });
    expect(t.text).not.toContain('<!channel>');
    expect(t.headline).toContain('x&lt;!channel&gt;&amp;');
    expect(t.nextStep).toContain('x&lt;!channel&gt;&amp;');
  });
});

describe('detailSpan', () => {
  it('quotes at most 300 characters of the detail as an inert code span', () => {
    const long = `${'a'.repeat(290)} <!here> \`rm -rf\` ${'b'.repeat(400)}`;
    const span = detailSpan(long);
    expect(span.startsWith('`') && span.endsWith('`')).toBe(true);
    const inner = span.slice(1, -1);
    expect(inner.length).toBeLessThanOrEqual(300);
    expect(inner).not.toContain('`');
    expect(inner).not.toContain('<');
    expect(inner.endsWith('…')).toBe(true);
  });

  it('keeps a short detail whole, on one line', () => {
    expect(detailSpan('Host \'compute9\' is not mapped to any cell\n')).toBe("`Host 'compute9' is not mapped to any cell`");
  });
});

describe('lifecycle and refusal texts', () => {
  it('expired: when, nothing changed, and how to ask again', () => {
    const t = expiredText('compute1', 'force-down', '2026-11-25T15:00:00.000Z');
    expect(t).toContain('expired at 2026-11-25 15:00 UTC');
    expect(t).toContain('Nova was not changed');
    expect(t).toContain('`/force-down compute1`');
    expect(expiredText('compute1', 'unset', '2026-11-25T15:00:00Z')).toContain('`/force-down --unset compute1`');
  });

  it('cancelled: by whom', () => {
    expect(cancelledText('compute1', 'force-down', 'U0CANCEL01')).toBe('🚫 Cancelled by <@U0CANCEL01>: Nova was not asked to force down *compute1*.');
    expect(cancelledText('compute1', 'unset', undefined)).toBe('🚫 Cancelled: Nova was not asked to unset forced-down on *compute1*.');
    expect(cancelledText('compute1', 'unset', 'ops-cli<x>')).toContain('ops-cli&lt;x&gt;');
  });

  it('not authorized, two-person rule, double click, open request', () => {
    expect(notAuthorizedText('compute1', 'force-down')).toMatch(/not on force-down's approver list.*force down \*compute1\*/);
    expect(twoPersonRuleText('compute1', 'force-down', 'U0REQUEST1')).toBe(
      'The two-person rule is on: <@U0REQUEST1> asked to force down *compute1*, so another approver must confirm it.',
    );
    expect(alreadyHandledText('compute1', 'unset', 'U0APPROVE1')).toContain('already being handled (confirmed by <@U0APPROVE1>)');
    expect(alreadyHandledText('compute1', 'unset')).not.toContain('confirmed by');
    const link = 'https://example.slack.com/archives/C0ONCALL01/p1795600000000100';
    expect(openRequestExistsText('compute1', 'force-down', link)).toBe(
      `There is already an open request to force down *compute1*: confirm or cancel it there (<${link}|its card>).`,
    );
    expect(openRequestExistsText('compute1', 'force-down')).toContain('its card in the on-call channel');
  });

  it('never turns a hostile card link into a link', () => {
    expect(openRequestExistsText('compute1', 'force-down', 'javascript:alert(1)')).not.toContain('<javascript');
    const t = openRequestExistsText('compute1', 'force-down', 'https://x.example/a|<!channel>&b=>');
    expect(t).not.toContain('<!channel>');
    expect(t).toMatch(/<https:\/\/x\.example\/a%7C%3C!channel%3E&amp;b=%3E\|its card>/);
  });

  it('slashCommandFor', () => {
    expect(slashCommandFor('compute1', 'force-down')).toBe('/force-down compute1');
    expect(slashCommandFor('compute1', 'unset')).toBe('/force-down --unset compute1');
  });
});

describe('refusalText', () => {
  const REFUSALS = {
    NOT_AUTHORIZED: true,
    TWO_PERSON_RULE: true,
    REQUEST_EXPIRED: true,
    ALREADY_HANDLED: true,
    FORM_OUT_OF_DATE: true,
    REQUEST_NOT_FOUND: true,
    CHANNEL_NOT_ALLOWED: true,
    UNKNOWN_CLOUD: true,
    NOT_FORCED_DOWN: true,
    EVACUATION_STARTED: true,
    NOTHING_TO_RETRY: true,
  } satisfies Record<Refusal, true>;
  const ctx = { host: 'compute1', action: 'force-down' as const, cloud: 'prod-west', requestedBy: 'U0REQUEST1', expiresAt: '2026-11-25T15:00:00Z' };

  it.each(Object.keys(REFUSALS) as Refusal[])('%s has its own plain text', (refusal) => {
    const text = refusalText(refusal, ctx);
    expect(text.length).toBeGreaterThan(20);
    if (refusal !== 'CHANNEL_NOT_ALLOWED' && refusal !== 'UNKNOWN_CLOUD' && refusal !== 'FORM_OUT_OF_DATE') expect(text).toContain('*compute1*');
  });

  it('FORM_OUT_OF_DATE: a replayed or superseded modal is told to start again from the card', () => {
    expect(refusalText('FORM_OUT_OF_DATE', ctx)).toBe('This form was already used or is out of date: press the button on the card again.');
  });

  it('reuses the specific texts', () => {
    expect(refusalText('TWO_PERSON_RULE', ctx)).toBe(twoPersonRuleText('compute1', 'force-down', 'U0REQUEST1'));
    expect(refusalText('REQUEST_EXPIRED', ctx)).toBe(expiredText('compute1', 'force-down', '2026-11-25T15:00:00Z'));
    expect(refusalText('ALREADY_HANDLED', { ...ctx, handledBy: 'U0APPROVE1' })).toBe(alreadyHandledText('compute1', 'force-down', 'U0APPROVE1'));
    expect(refusalText('NOT_AUTHORIZED', { ...ctx, attempted: 'cancel' })).toContain('you cannot cancel the request');
    expect(refusalText('NOT_AUTHORIZED', ctx)).toContain('you cannot confirm the request');
    expect(refusalText('UNKNOWN_CLOUD', { ...ctx, cloud: '<!channel>' })).toContain('no cloud named “&lt;!channel&gt;”');
    expect(refusalText('UNKNOWN_CLOUD', { ...ctx, cloud: '*prod*\n_x_' })).toContain('no cloud named “∗prod∗ ˍxˍ”');
  });
});
