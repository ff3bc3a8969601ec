// The one strict parser of Slack's POSTs to /slack/events (issue #11, 3): exactly one of a slash
// command, an interaction (`payload=` alone) or a bare ssl_check; everything else refused with a reason.
import { describe, expect, it } from 'vitest';
import { fenceModal } from '../../../src/slack/blocks.js';
import {
  decodeModalMetadata,
  duplicateKey,
  encodeModalMetadata,
  isSlackResponseUrl,
  modalRequestId,
  parseSlackEnvelope,
} from '../../../src/slack/envelope.js';
import { aRequest } from './builders.js';

const FORM = 'application/x-www-form-urlencoded';
const API = 'http://127.0.0.1:4555/api/';
const HOOK = 'https://hooks.slack.com/commands/T0FAKE0001/1/abc';
const FAKE_HOOK = 'http://127.0.0.1:4555/response/x';

const form = (fields: [string, string][]) => new URLSearchParams(fields).toString();
const slash = (extra: [string, string][] = [], responseUrl = HOOK): [string, string][] => [
  ['token', 'legacy'],
  ['team_id', 'T0FAKE0001'],
  ['team_domain', 'fake'],
  ['channel_id', 'C0ONCALL01'],
  ['user_id', 'U0REQUEST1'],
  ['command', '/force-down'],
  ['text', 'compute1'],
  ['response_url', responseUrl],
  ['trigger_id', '1.2.3'],
  ...extra,
];
const click = (over: Record<string, unknown> = {}) => ({
  type: 'block_actions',
  user: { id: 'U0APPROVE1', username: 'ann', team_id: 'T0FAKE0001' },
  team: { id: 'T0FAKE0001', domain: 'fake' },
  channel: { id: 'C0ONCALL01', name: 'oncall' },
  container: { type: 'message', message_ts: '1.1', channel_id: 'C0ONCALL01' },
  message: { ts: '1.1', blocks: [] },
  trigger_id: '1.2.3',
  response_url: HOOK,
  actions: [{ type: 'button', action_id: 'confirm_fenced', block_id: 'request_actions', value: 'req-1', action_ts: '1' }],
  ...over,
});
const submission = (over: Record<string, unknown> = {}, view: Record<string, unknown> = {}) => ({
  type: 'view_submission',
  team: { id: 'T0FAKE0001', domain: 'fake' },
  user: { id: 'U0APPROVE1' },
  api_app_id: 'A0FAKEAPP1',
  token: 'legacy',
  trigger_id: '1.2.3',
  view: { id: 'V1', type: 'modal', callback_id: 'fence_confirmation', private_metadata: 'x', state: { values: {} }, hash: 'h', blocks: [], ...view },
  response_urls: [],
  is_enterprise_install: false,
  enterprise: null,
  ...over,
});
const payload = (p: unknown) => form([['payload', JSON.stringify(p)]]);
const parse = (body: string, contentType = FORM) => parseSlackEnvelope(body, contentType, API);
const refused = (body: string, contentType = FORM) => {
  const res = parse(body, contentType);
  if (res.ok) throw new Error(`accepted: ${res.envelope.kind}`);
  return res.error;
};

describe('parseSlackEnvelope', () => {
  it('a slash command: its documented fields, others dropped', () => {
    const res = parse(form(slash([['is_enterprise_install', 'false'], ['something_new', 'x']])));
    expect(res).toEqual({
      ok: true,
      envelope: {
        kind: 'command',
        body: {
          token: 'legacy',
          team_id: 'T0FAKE0001',
          team_domain: 'fake',
          channel_id: 'C0ONCALL01',
          user_id: 'U0REQUEST1',
          command: '/force-down',
          text: 'compute1',
          response_url: HOOK,
          trigger_id: '1.2.3',
          is_enterprise_install: 'false',
        },
      },
    });
    // No text at all is an empty text (`/force-down` alone: the help).
    const bare = parse(form(slash().filter(([k]) => k !== 'text')));
    expect(bare.ok && bare.envelope.kind === 'command' && bare.envelope.body.text).toBe('');
  });

  it('a bare ssl_check (with Slack\'s token): nothing else', () => {
    expect(parse('ssl_check=1&token=legacy')).toEqual({ ok: true, envelope: { kind: 'ssl_check' } });
    expect(parse('ssl_check=1')).toEqual({ ok: true, envelope: { kind: 'ssl_check' } });
    expect(refused('ssl_check=0')).toBe('ssl_check must be 1');
    expect(refused('ssl_check=1&text=x')).toBe('an ssl_check carries no text');
  });

  it('mixed requests are refused, whichever comes first', () => {
    const p = encodeURIComponent(JSON.stringify(click({ response_url: 'http://127.0.0.1:9/steal' })));
    expect(refused(`ssl_check=1&payload=${p}`)).toBe('mixed request: payload with ssl_check');
    expect(refused(`payload=${p}&ssl_check=1`)).toBe('mixed request: payload with ssl_check');
    expect(refused(form([...slash(), ['payload', JSON.stringify(click())]]))).toBe('mixed request: command with payload');
    expect(refused(form([...slash(), ['ssl_check', '1']]))).toBe('mixed request: command with ssl_check');
  });

  it('a field given twice is refused (form fields; keys in the payload JSON)', () => {
    expect(refused(form([...slash(), ['user_id', 'U0APPROVE1']]))).toBe('user_id appears more than once');
    expect(refused(`${payload(click())}&${payload(click())}`)).toBe('payload appears more than once');
    expect(refused('ssl_check=1&ssl_check=1')).toBe('ssl_check appears more than once');
    const twice = JSON.stringify(click()).replace('"type":"block_actions"', '"type":"view_submission","type":"block_actions"');
    expect(refused(form([['payload', twice]]))).toBe('payload: type appears more than once');
    const nested = JSON.stringify(click()).replace(`"response_url":"${HOOK}"`, `"response_url":"${HOOK}","response\\u005furl":"http://127.0.0.1:9/x"`);
    expect(refused(form([['payload', nested]]))).toBe('payload: response_url appears more than once');
  });

  it('fields of another kind of request are refused', () => {
    for (const key of ['type', 'event', 'name', 'actions', 'view', 'challenge']) {
      expect(refused(form(slash([[key, 'x']])))).toBe(`a slash command carries no ${key}`);
    }
    for (const key of ['command', 'event', 'name', 'view', 'challenge', 'ssl_check', 'response_urls']) {
      expect(refused(payload(click({ [key]: 'x' })))).toBe(`block_actions carries no ${key}`);
    }
    for (const key of ['command', 'event', 'name', 'actions', 'response_url', 'ssl_check']) {
      expect(refused(payload(submission({ [key]: 'x' })))).toBe(`view_submission carries no ${key}`);
    }
    expect(refused(`${payload(click())}&text=x`)).toBe('an interaction form carries only payload, not text');
  });

  it('an interaction: block_actions with one action, or a view_submission; what the listeners read, nothing more', () => {
    const res = parse(payload(click({ state: { values: {} }, api_app_id: 'A0FAKEAPP1', is_enterprise_install: false, enterprise: null })));
    expect(res.ok && res.envelope).toEqual({
      kind: 'block_actions',
      body: {
        type: 'block_actions',
        user: { id: 'U0APPROVE1', username: 'ann', team_id: 'T0FAKE0001' },
        team: { id: 'T0FAKE0001', domain: 'fake' },
        enterprise: null,
        is_enterprise_install: false,
        api_app_id: 'A0FAKEAPP1',
        channel: { id: 'C0ONCALL01', name: 'oncall' },
        container: { type: 'message', message_ts: '1.1', channel_id: 'C0ONCALL01' },
        trigger_id: '1.2.3',
        response_url: HOOK,
        actions: [{ type: 'button', action_id: 'confirm_fenced', block_id: 'request_actions', value: 'req-1', action_ts: '1' }],
      },
    });
    const view = parse(payload(submission({ response_urls: [{ response_url: HOOK, block_id: 'b', action_id: 'a', channel_id: 'C1' }] })));
    expect(view.ok && view.envelope.kind).toBe('view_submission');
    expect(view.ok && view.envelope.kind === 'view_submission' && view.envelope.body).not.toHaveProperty('response_urls');
    expect(view.ok && view.envelope.kind === 'view_submission' && view.envelope.body.view).toEqual({
      id: 'V1',
      type: 'modal',
      callback_id: 'fence_confirmation',
      private_metadata: 'x',
      state: { values: {} },
      hash: 'h',
    });
    expect(refused(payload(click({ actions: [] })))).toBe('block_actions: actions is missing or malformed');
    expect(refused(payload(click({ actions: [click().actions[0], click().actions[0]] })))).toBe('block_actions: actions is missing or malformed');
    expect(refused(payload(submission({}, { state: 'x' })))).toBe('view_submission: view.state is missing or malformed');
    expect(refused(payload({ ...click(), user: undefined }))).toBe('block_actions: user is missing or malformed');
    for (const type of ['shortcut', 'message_action', 'view_closed', 'block_suggestion', 'dialog_submission', 'url_verification', undefined]) {
      expect(refused(payload({ ...click(), type }))).toBe('payload type is not block_actions or view_submission');
    }
    expect(refused(form([['payload', '{"type":']]))).toBe('payload is not JSON');
    expect(refused(form([['payload', '[1]']]))).toBe('payload is not a JSON object');
  });

  it("a response_url that is not Slack's is refused on every path", () => {
    for (const url of ['http://127.0.0.1:9/steal', 'http://hooks.slack.com/x', 'https://hooks.slack.com.evil.example/x', 'https://user:pw@hooks.slack.com/x', 'https://hooks.slack.com:8443/x', 'not a url', 'file:///etc/passwd']) {
      expect(refused(form(slash([], url)))).toBe("response_url is not Slack's");
      expect(refused(payload(click({ response_url: url })))).toBe("response_url is not Slack's");
      expect(refused(payload(submission({ response_urls: [{ response_url: url }] })))).toBe("response_urls: not Slack's");
    }
    // Slack's hosts, and the host of SLACK_API_URL (the fake in tests).
    for (const url of [HOOK, 'https://hooks.slack-gov.com/commands/x', FAKE_HOOK]) {
      expect(parse(form(slash([], url))).ok).toBe(true);
      expect(parse(payload(click({ response_url: url }))).ok).toBe(true);
    }
  });

  it('JSON bodies, url_verification included, and other content types are refused', () => {
    expect(refused(JSON.stringify({ type: 'url_verification', challenge: 'abc', token: 'x' }), 'application/json')).toBe(
      'url_verification: force-down does not use the Events API',
    );
    expect(refused(JSON.stringify({ type: 'event_callback', event: {} }), 'application/json')).toBe('expected application/x-www-form-urlencoded');
    expect(refused('{', 'application/json')).toBe('expected application/x-www-form-urlencoded');
    expect(refused(form(slash()), 'text/plain')).toBe('expected application/x-www-form-urlencoded');
    expect(parse(form(slash()), 'application/x-www-form-urlencoded; charset=utf-8').ok).toBe(true);
    expect(refused('')).toBe('not a slash command, an interaction or an ssl_check');
    expect(refused('type=url_verification&challenge=abc')).toBe('not a slash command, an interaction or an ssl_check');
  });

  it('never echoes a long or odd field name', () => {
    expect(refused(`ssl_check=1&${'k'.repeat(500)}=1`)).toBe('an ssl_check carries no a field');
    expect(refused(`ssl_check=1&%3Cscript%3E=1`)).toBe('an ssl_check carries no a field');
  });
});

describe('duplicateKey', () => {
  it.each([
    ['{"a":1,"b":2}', undefined],
    ['{"a":{"a":1},"b":[{"a":1},{"a":2}]}', undefined],
    ['{"a":1,"a":2}', 'a'],
    ['{"x":{"b":1,"c":[1,{"d":2,"d":3}]}}', 'd'],
    ['{"a":"\\"a\\"","\\u0061":1}', 'a'],
    ['{"a":["a","a"],"b":"a"}', undefined],
    [`${'['.repeat(50_000)}${']'.repeat(50_000)}`, undefined],
    ['"just a string"', undefined],
  ])('%s → %s', (json, key) => {
    expect(duplicateKey(json)).toBe(key);
  });
});

describe('isSlackResponseUrl', () => {
  it('Slack hosts over https, or the SLACK_API_URL host with its scheme and port', () => {
    expect(isSlackResponseUrl('https://hooks.slack.com/actions/T/1/x', 'https://slack.com/api/')).toBe(true);
    expect(isSlackResponseUrl('https://HOOKS.SLACK.COM/x', 'https://slack.com/api/')).toBe(true);
    expect(isSlackResponseUrl('https://hooks.slack-gov.com/x', 'https://slack.com/api/')).toBe(true);
    expect(isSlackResponseUrl('https://slack.com/x', 'https://slack.com/api/')).toBe(true);
    expect(isSlackResponseUrl('http://127.0.0.1:4555/response/1', 'http://127.0.0.1:4555/api/')).toBe(true);
    expect(isSlackResponseUrl('http://127.0.0.1:4556/response/1', 'http://127.0.0.1:4555/api/')).toBe(false);
    expect(isSlackResponseUrl('https://127.0.0.1:4555/response/1', 'http://127.0.0.1:4555/api/')).toBe(false);
    expect(isSlackResponseUrl('http://hooks.slack.com/x', 'https://slack.com/api/')).toBe(false);
    expect(isSlackResponseUrl('https://evil.example/x', 'not a url')).toBe(false);
  });
});

describe('modal metadata', () => {
  it('round-trips {id, nonce}; anything else (a bare request id, other JSON) has no form', () => {
    const meta = encodeModalMetadata({ id: 'req-1', nonce: 'n-1' });
    expect(JSON.parse(meta)).toEqual({ id: 'req-1', nonce: 'n-1' });
    expect(decodeModalMetadata(meta)).toEqual({ id: 'req-1', nonce: 'n-1' });
    expect(modalRequestId(meta)).toBe('req-1');
    for (const other of ['req-1', '', '{"id":"req-1"}', '{"id":"req-1","nonce":""}', '{"id":1,"nonce":"n"}', 'null', '[]']) {
      expect(decodeModalMetadata(other)).toBeUndefined();
    }
  });
});

describe('fenceModal private_metadata', () => {
  it('names the request and the form; kept when the worker updates the modal with its heartbeat check', () => {
    const request = aRequest();
    const opened = fenceModal(request, undefined, 'form-1');
    expect(decodeModalMetadata(opened.private_metadata!)).toEqual({ id: request.id, nonce: 'form-1' });
    const checked = fenceModal(request, { lookupFailure: { code: 'NOVA_UNAVAILABLE', message: 'x' }, now: Date.now() }, 'form-1');
    expect(checked.private_metadata).toBe(opened.private_metadata);
    // Without a form the modal names only its request, and cannot confirm it.
    expect(decodeModalMetadata(fenceModal(request).private_metadata!)).toBeUndefined();
    expect(modalRequestId(opened.private_metadata)).toBe(request.id);
  });
});
