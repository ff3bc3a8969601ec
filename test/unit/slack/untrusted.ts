/**
 * Shared by the tests of untrusted text (test/unit/slack/mrkdwn.test.ts,
 * lying-cards.test.ts, test/reliability/lying-cards.test.ts): hostile strings
 * and the checks that a shown piece of text is inert (src/slack/mrkdwn.ts `inert`).
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { QUOTED_BLOCK_ID } from '../../../src/slack/blocks.js';

/** The example: an alert summary that renders as a fake status line when not made inert. */
export const FAKE_STATUS = '\n*✅ rt1 is forced down in Nova (by approver)*';

/** Pieces hostile text is made of: mrkdwn markers, links, mentions, emoji, line breaks, invisible and bidi characters, lone surrogates. */
export const FRAGMENTS = [
  '*', '_', '~', '`', '>', '<', '&', '|', ':', '“', '”', '"', '\n', '\r\n', '\t', '\u2028', '\u2029', '\u000b', '\u0085', ' ', '  ',
  '\u202e', '\u2066', '\u200b', '\u200f', '\u00ad', '\ufeff', '\u0000', '\u001b', '\u007f', '\ud800', '\udc00',
  ':white_check_mark:', ':x:', '✅', '❌', '⏳', '🔴', '😀', '👨‍👩‍👧', 'é',
  '<!channel>', '<!here>', '<!everyone>', '<@U0APPROVE1>', '<#C0ONCALL01>', '<!date^1392734382^{date}|x>', '<http://evil.example|open in the alerting tool>',
  '@here', '@channel', '@everyone', '&amp;', '&lt;', '&gt;', '&#60;', '> ', '>>> ', '```', '~~', '__', '**', '* ', ' *', '_x_', '*x*', '~x~', '`x`',
  FAKE_STATUS, '✅ *rt1* is forced down in Nova', 'rt1', 'compute1', 'forced down', 'a', 'Z', '0', '9',
] as const;

/** Any string, weighted towards hostile mrkdwn. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 100 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\n\n', 'x'.repeat(5_000), '&'.repeat(3_000), '*'.repeat(3_000), `${'a_'.repeat(1_500)}b`) },
);

/** URLs an alert may carry: hostile text around and inside http(s) URLs, other schemes, non-URLs. */
export const hostileLink: fc.Arbitrary<string> = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.tuple(fc.constantFrom('http://', 'https://', 'HTTPS://', 'javascript:', 'data:text/html,', 'slack://', '//', ''), hostileText, fc.constantFrom('', '@evil.example', '.example/'), hostileText).map((p) => p.join('')),
  fc.constantFrom('https://alertmanager.example.com@evil.example/x', 'http://*✅*/', 'http://a_b~c*d.example/', 'https://аlertmanager.example/', `https://x.example/${'a'.repeat(2_100)}`),
  hostileText,
);

/** Characters that hide or reorder text (mirror of mrkdwn.ts INVISIBLE), and lone surrogates. */
const INVISIBLE_OR_BROKEN =
  /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\uffa0\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const ALNUM = /[A-Za-z0-9]/;

/** Why `shown` (untrusted text as the card shows it) could still format, link, mention or break a line; undefined when it is inert. */
export function notInert(shown: string): string | undefined {
  if (/\s/.test(shown.replace(/ /g, ''))) return 'a line break or other whitespace than a space';
  if (/ {2}|^ | $/.test(shown)) return 'unfolded spaces';
  if (/[`<>“”]/.test(shown)) return 'a backtick, <, > or curly quote';
  if (/&(?!(?:amp|lt|gt);)/.test(shown)) return 'an & that starts no entity of ours';
  if (/@(?:channel|here|everyone)/i.test(shown)) return 'a plain @channel/@here/@everyone';
  if (INVISIBLE_OR_BROKEN.test(shown)) return 'an invisible, bidi or broken character';
  for (let i = 0; i < shown.length; i++) {
    if ('*_~'.includes(shown[i]!) && !(ALNUM.test(shown[i - 1] ?? '') && ALNUM.test(shown[i + 1] ?? ''))) return `a ${shown[i]} that could format`;
  }
  return undefined;
}

export function expectInert(shown: string): void {
  expect(notInert(shown), JSON.stringify(shown)).toBeUndefined();
}

type Block = { type: string; block_id?: string; elements?: { text?: string; type?: string; verbatim?: boolean }[] };

/** The blocks that are force-down's own: every block but the quoted one. */
export const ownBlocks = (blocks: unknown): unknown[] => ((blocks as Block[] | undefined) ?? []).filter((b) => b.block_id !== QUOTED_BLOCK_ID);

/** The quoted block's elements' texts, split into lines. */
export function quotedLines(blocks: unknown): string[] {
  const quoted = ((blocks as Block[] | undefined) ?? []).filter((b) => b.block_id === QUOTED_BLOCK_ID);
  expect(quoted.length).toBeLessThanOrEqual(1);
  const block = quoted[0];
  if (!block) return [];
  expect(block.type).toBe('context');
  for (const e of block.elements ?? []) expect(e).toMatchObject({ type: 'mrkdwn', verbatim: true });
  return (block.elements ?? []).flatMap((e) => (e.text ?? '').split('\n'));
}

const LINK = /^Link: <(https?:\/\/[^|<>\s]+)\|open in the alerting tool \((.*)\)>$/;
const LONG_LINK = /^Link: open in the alerting tool \((.*)\): not linked, the address is longer than 2000 characters$/;

/**
 * Every line of the quoted block is `<one of labels>: “<inert text>”`, or the
 * alert's link: an http(s) target in which nothing ends the link or starts a
 * label or an entity, labelled "open in the alerting tool (<inert host>)".
 */
export function expectQuotedLinesInert(lines: readonly string[], labels: readonly string[]): void {
  for (const line of lines) {
    const link = LINK.exec(line) ?? LONG_LINK.exec(line);
    if (link) {
      const [href, host] = link.length === 3 ? [link[1]!, link[2]!] : [undefined, link[1]!];
      if (href !== undefined) expect(href, line).not.toMatch(/&(?!amp;)/);
      expect(host, line).not.toBe('');
      expectInert(host);
      continue;
    }
    const m = /^([A-Za-z ,()]+): “(.*)”$/.exec(line);
    expect(m, `a quoted line: ${JSON.stringify(line)}`).not.toBeNull();
    expect([...labels, 'Link (not http or https, so not linked)']).toContain(m![1]);
    expect(m![2]).not.toBe('');
    expectInert(m![2]!);
  }
}
