// infra/slack-app-manifest.yml: the Slack app the code needs, and no more. The scopes are
// checked against the Slack Web API methods the code actually calls (found in the sources).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..', '..');
const manifest = parse(readFileSync(join(root, 'infra/slack-app-manifest.yml'), 'utf8'));

/** Bot scope each Web API method needs (https://api.slack.com/methods); `null`: none. Extend when the code calls a new method. */
const SCOPE_OF: Record<string, string | null> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.delete': 'chat:write',
  'chat.getPermalink': null,
  'views.open': null,
  'views.update': null,
  'views.push': null,
  'usergroups.users.list': 'usergroups:read',
  'usergroups.list': 'usergroups:read',
  'users.info': 'users:read',
  'conversations.info': 'channels:read',
  'reactions.add': 'reactions:write',
  'auth.test': null,
};

/** First segments of Slack Web API method names (so `client.nova.getService` is not taken for one). */
const SLACK_FAMILIES = /^(admin|apps|auth|bookmarks|bots|calls|canvases|chat|conversations|dialog|dnd|emoji|files|functions|pins|reactions|reminders|search|stars|team|usergroups|users|views|workflows)\./;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Web API methods called in src/ and functions/: `<something>client.<method>(` and `apiCall('<method>'`. */
function calledMethods(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of [...sources(join(root, 'src')), ...sources(join(root, 'functions'))]) {
    const code = readFileSync(file, 'utf8');
    const calls = [
      ...[...code.matchAll(/\bclient\??\.((?:[a-zA-Z]+\.)+[a-zA-Z]+)\s*\(/g)].map((m) => m[1]!),
      ...[...code.matchAll(/\bapiCall\(\s*['"]([\w.]+)['"]/g)].map((m) => m[1]!),
    ].filter((m) => SLACK_FAMILIES.test(m));
    for (const m of calls) found.set(m, [...(found.get(m) ?? []), relative(root, file)]);
  }
  return found;
}

const API_URL = /^https:\/\/<api-id>\.execute-api\.<region>\.amazonaws\.com\/slack\/events$/;

describe('infra/slack-app-manifest.yml', () => {
  it('declares the /force-down slash command, with a usage hint, at the api placeholder URL', () => {
    expect(manifest.features.slash_commands).toEqual([
      expect.objectContaining({ command: '/force-down', url: expect.stringMatching(API_URL), usage_hint: expect.stringContaining('--unset') }),
    ]);
    expect(manifest.features.slash_commands[0].description.length).toBeLessThanOrEqual(100);
  });

  it('turns interactivity on (buttons, the fence modal) at the same URL, over HTTP rather than Socket Mode', () => {
    expect(manifest.settings.interactivity).toMatchObject({ is_enabled: true, request_url: expect.stringMatching(API_URL) });
    expect(manifest.settings.socket_mode_enabled).toBe(false);
  });

  it('has a bot user', () => {
    expect(manifest.features.bot_user.display_name).toBe('force-down');
    expect(manifest.display_information.name).toBe('force-down');
  });

  it('finds the Web API calls in the sources (the scan works)', () => {
    const called = calledMethods();
    expect([...called.keys()]).toEqual(expect.arrayContaining(['chat.postMessage', 'chat.update', 'views.open', 'usergroups.users.list']));
  });

  it('every method the code calls has a known scope, and the bot scopes are exactly those plus `commands`', () => {
    const called = calledMethods();
    const unknown = [...called].filter(([m]) => !(m in SCOPE_OF)).map(([m, files]) => `${m} (${files.join(', ')})`);
    expect(unknown, 'add these methods and their scopes to SCOPE_OF').toEqual([]);
    const needed = new Set(['commands', ...[...called.keys()].map((m) => SCOPE_OF[m]).filter((s): s is string => s !== null)]);
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
    // No user token scopes: the bot acts as itself only.
    expect(manifest.oauth_config.scopes.user).toBeUndefined();
  });
});
