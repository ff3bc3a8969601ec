// The files and environment a local bot (`npm start`'s startLocalBot, in this process or as a child
// process) is started with in the integration and reliability suites: one place for what every
// such test writes the same way.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LocalBotFiles {
  /** The SQLite file the bot will use (not created yet). */
  db: string;
  /** The secret document, as written (mode 0600). */
  secretFile: string;
  /** PORT=0 (any free port), FORCE_DOWN_DB, FORCE_DOWN_SECRET_FILE, SLACK_API_URL, FORCE_DOWN_APPROVERS, FORCE_DOWN_CHANNEL; a test spreads its own settings over it. */
  env: Record<string, string>;
}

/** Writes the secret document `secret` into `dir` (secret.json, 0600) and returns the bot's environment with it, a SQLite file in `dir`, the fake Slack and the approvers' channel. */
export function localBotFiles(dir: string, o: { secret: unknown; slackApiUrl: string; approvers: string; channel: string }): LocalBotFiles {
  const secretFile = join(dir, 'secret.json');
  writeFileSync(secretFile, JSON.stringify(o.secret), { mode: 0o600 });
  const db = join(dir, 'force-down.sqlite');
  return {
    db,
    secretFile,
    env: {
      PORT: '0',
      FORCE_DOWN_DB: db,
      FORCE_DOWN_SECRET_FILE: secretFile,
      SLACK_API_URL: o.slackApiUrl,
      FORCE_DOWN_APPROVERS: o.approvers,
      FORCE_DOWN_CHANNEL: o.channel,
    },
  };
}
