import { describe, expect, it } from 'vitest';
import { parseSlashCommand } from '../../../src/slack/command.js';

describe('/force-down text', () => {
  it.each([
    ['compute1', { kind: 'open', action: 'force-down', host: 'compute1', binary: 'nova-compute' }],
    ['compute1 nova-compute --cloud prod-east --reason PSU dead, BMC unreachable', { kind: 'open', host: 'compute1', cloud: 'prod-east', reason: 'PSU dead, BMC unreachable' }],
    ['--unset compute1.example.org', { kind: 'open', action: 'unset', host: 'compute1.example.org' }],
    ['compute1 --reason "rack 12 lost power" --cloud prod', { kind: 'open', reason: 'rack 12 lost power', cloud: 'prod' }],
    ['compute1 --reason “curly quotes”', { kind: 'open', reason: 'curly quotes' }],
    ['status compute7', { kind: 'status', host: 'compute7' }],
    ['list --cloud lab', { kind: 'list', cloud: 'lab' }],
    ['list', { kind: 'list' }],
    ['list --page 2', { kind: 'list', page: 2 }],
    ['list --cloud lab --page 9999', { kind: 'list', cloud: 'lab', page: 9999 }],
    ['list --page 0', { kind: 'help', error: expect.stringContaining('`--page` needs a page number from 1') }],
    ['list --page -1', { kind: 'help', error: expect.stringContaining('`--page` needs a page number from 1') }],
    ['list --page two', { kind: 'help', error: expect.stringContaining('`--page` needs a page number from 1') }],
    ['list --page 1.5', { kind: 'help', error: expect.stringContaining('`--page` needs a page number from 1') }],
    ['list --page 10000', { kind: 'help', error: expect.stringContaining('`--page` needs a page number from 1') }],
    ['list --page', { kind: 'help', error: expect.stringContaining('`--page` needs a page number from 1') }],
    ['compute1 --page 2', { kind: 'help', error: expect.stringContaining('`--page` goes with `list` only') }],
    ['list compute1', { kind: 'help', error: expect.stringContaining('`list` takes only `--cloud` and `--page`') }],
    ['evacuate compute1', { kind: 'evacuate', host: 'compute1' }],
    ['evacuate compute1.dc1 --cloud prod-east', { kind: 'evacuate', host: 'compute1.dc1', cloud: 'prod-east' }],
    ['evacuate', { kind: 'help', error: expect.stringContaining('/force-down evacuate compute1') }],
    ['evacuate compute1 compute2', { kind: 'help', error: expect.stringContaining('takes a host') }],
    ['evacuate compute1 --reason because', { kind: 'help', error: expect.stringContaining('takes a host') }],
    ['evacuate ../os-services', { kind: 'help', error: expect.stringContaining('not a host name') }],
    ['--unset evacuate', { kind: 'open', action: 'unset', host: 'evacuate' }],
    ['', { kind: 'help' }],
    ['help', { kind: 'help' }],
  ])('%j', (text, expected) => {
    expect(parseSlashCommand(text)).toMatchObject(expected);
  });

  it('an unknown option is echoed inert: no mention, link or code span it could break out of', () => {
    const res = parseSlashCommand('compute1 --<!channel>`*x*`<https://evil.example|click>');
    expect(res.kind).toBe('help');
    const error = res.kind === 'help' ? (res.error ?? '') : '';
    expect(error).toMatch(/^Unknown option `--&lt;!channel&gt;.*`\.$/);
    expect(error).not.toMatch(/<|>/);
    expect(error.match(/`/g)).toHaveLength(2); // only ours: the token's backticks cannot close the code span
  });

  it.each([
    ['compute1 nova-scheduler', 'nova-compute` only'],
    ['../../os-services', 'not a host name'],
    ['compute1 --frobnicate', 'Unknown option'],
    ['compute1 --cloud', '`--cloud` needs'],
    ['compute1 --reason', '`--reason` needs'],
    ['compute1 nova-compute extra', 'Too many words'],
    ['status', 'Name a host'],
    ['list compute1', '`list` takes only'],
    ['x'.repeat(2001), 'too long'],
  ])('%j → help explaining why', (text, why) => {
    const res = parseSlashCommand(text);
    expect(res.kind).toBe('help');
    expect(res.kind === 'help' ? res.error : '').toContain(why);
  });
});
