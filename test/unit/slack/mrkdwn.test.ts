import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LINK_MAX, inert, linkShowingHost, quoted } from '../../../src/slack/mrkdwn.js';
import { FAKE_STATUS, expectInert, hostileLink, hostileText, notInert } from './untrusted.js';

describe('inert: untrusted text that formats, links and mentions nothing, on one line', () => {
  it('turns the issue’s fake status line into a plain sentence on one line', () => {
    expect(inert(FAKE_STATUS, 600)).toBe('∗✅ rt1 is forced down in Nova (by approver)∗');
  });

  it.each([
    ['bold, italics, strike, code', '*bold* _it_ ~gone~ `code` ```block```', '∗bold∗ ˍitˍ ∼gone∼ ˋcodeˋ ˋˋˋblockˋˋˋ'],
    ['a quote at the start of a line', 'ok\n> quoted\n>>> all of it', 'ok &gt; quoted &gt;&gt;&gt; all of it'],
    ['links, mentions, dates, entities', '<http://evil.example|runbook> <!channel> <@U0BOSS0001> <!date^1^{date}|x> &amp;', '&lt;http://evil.example|runbook&gt; &lt;!channel&gt; &lt;@U0BOSS0001&gt; &lt;!date^1^{date}|x&gt; &amp;amp;'],
    ['plain mentions', '@here @channel @Everyone @hereford me@example.org', '＠here ＠channel ＠Everyone ＠hereford me@example.org'],
    ['our quote marks', 'he said “done” and left', 'he said "done" and left'],
    ['line breaks and runs of blanks', '  a\r\n\tb\u2028c\u2029   d  ', 'a b c d'],
    ['bidi overrides and invisible characters', 'rt1\u202e nwod decrof\u202c\u200b\u2066x\u2069\u00ad\ufeff', 'rt1 nwod decrofx'],
    ['a lone surrogate', 'a\ud800b\udc00c😀', 'a\ufffdb\ufffdc😀'],
  ])('%s', (_what, text, shown) => {
    expect(inert(text, 1_000)).toBe(shown);
    expectInert(inert(text, 1_000));
  });

  it('keeps identifiers as they are: markers between two letters or digits never format in Slack', () => {
    for (const id of ['node_down', 'instance:node_cpu:rate5m', 'svc_ops@host-1', '2*3=6', 'a~b', 'NovaComputeDown', '14:05:00', 'http://x.example/a_b?q=1']) {
      expect(inert(id, 100)).toBe(id);
    }
  });

  it('keeps emoji and shortcodes (a sender can type ✅ itself: where it is shown tells it apart)', () => {
    expect(inert('✅ :white_check_mark: 🔥', 100)).toBe('✅ :white_check_mark: 🔥');
  });

  it('cuts at `max` characters with …, never inside an entity or a surrogate pair, and re-judges the marker before the cut', () => {
    expect(inert('x'.repeat(500), 200)).toBe(`${'x'.repeat(199)}…`);
    expect(inert('&'.repeat(100), 12)).toBe('&amp;&amp;…');
    expect(inert('😀'.repeat(10), 5)).toBe('😀😀…');
    expect(inert('ab_cd', 4)).toBe('abˍ…');
  });

  it('for any string: inert, one line, at most max characters', () => {
    fc.assert(
      fc.property(hostileText, fc.integer({ min: 1, max: 3_000 }), (text, max) => {
        const shown = inert(text, max);
        expect(shown.length).toBeLessThanOrEqual(max);
        expect(notInert(shown), JSON.stringify([text, shown])).toBeUndefined();
      }),
      { numRuns: 2_000 },
    );
  });

  it('leaves text without mrkdwn alone (letters, digits, common punctuation, single spaces)', () => {
    const safe = fc.string({ unit: fc.constantFrom(...'abcXYZ019 .,;:!?()[]{}-+=/\\\'"%#$^é😀'.split(/(?:)/u)), maxLength: 200 });
    fc.assert(
      fc.property(safe, (text) => {
        const folded = text.replace(/\s+/g, ' ').trim();
        expect(inert(text, 1_000)).toBe(folded);
      }),
    );
  });
});

describe('quoted', () => {
  it('wraps inert text in curly quotes; nothing for nothing', () => {
    expect(quoted('PSU *dead*\n', 100)).toBe('“PSU ∗dead∗”');
    expect(quoted(' \n\u200b ', 100)).toBeUndefined();
    expect(quoted(undefined, 100)).toBeUndefined();
  });
});

describe('linkShowingHost: a link says where it goes', () => {
  const label = 'open in the alerting tool';
  it.each([
    ['https://alertmanager.example.com/#/alerts', '<https://alertmanager.example.com/#/alerts|open in the alerting tool (alertmanager.example.com)>'],
    ['http://prometheus.example.org:9090/graph?g0.expr=up%3D%3D0&g0.tab=1', '<http://prometheus.example.org:9090/graph?g0.expr=up%3D%3D0&amp;g0.tab=1|open in the alerting tool (prometheus.example.org:9090)>'],
    ['https://alertmanager.example.com@evil.example/', '<https://alertmanager.example.com@evil.example/|open in the alerting tool (evil.example)>'],
    ['https://аlertmanager.example/', '<https://xn--lertmanager-xij.example/|open in the alerting tool (xn--lertmanager-xij.example)>'],
    ['http://a_b~c*d.example/', '<http://a_b~c*d.example/|open in the alerting tool (a_b~c*d.example)>'],
    ['http://x.example/a|b>c<d', '<http://x.example/a%7Cb%3Ec%3Cd|open in the alerting tool (x.example)>'],
  ])('%s', (url, shown) => {
    expect(linkShowingHost(url, label)).toBe(shown);
  });

  it('links only http(s)', () => {
    for (const url of ['javascript:alert(1)', 'data:text/html,x', 'slack://open', 'file:///etc/passwd', 'not a url', '//evil.example/x', '']) {
      expect(linkShowingHost(url, label)).toBeUndefined();
    }
  });

  it('does not link an address longer than Slack takes, but still names its host', () => {
    expect(linkShowingHost(`https://x.example/${'a'.repeat(LINK_MAX)}`, label)).toBe(
      `open in the alerting tool (x.example): not linked, the address is longer than ${LINK_MAX} characters`,
    );
  });

  it('for any string: an http(s) link to the URL’s own host with nothing that ends the link early, or nothing', () => {
    fc.assert(
      fc.property(hostileLink, (url) => {
        const shown = linkShowingHost(url, label);
        if (shown === undefined) return;
        const m = /^<(https?:\/\/[^|<>\s]+)\|open in the alerting tool \((.*)\)>$/.exec(shown) ?? /^open in the alerting tool \((.*)\): not linked/.exec(shown);
        expect(m, shown).not.toBeNull();
        const host = m!.length === 3 ? m![2]! : m![1]!;
        expectInert(host);
        if (m!.length === 3) {
          expect(m![1]!.length).toBeLessThanOrEqual(LINK_MAX);
          expect(m![1]).not.toMatch(/&(?!amp;)/);
          // The host shown is the host the link goes to.
          expect(new URL(m![1]!.replace(/&amp;/g, '&')).host).toBe(new URL(url.trim()).host);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
