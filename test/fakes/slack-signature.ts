import { createHmac } from 'node:crypto';

/**
 * Computes `X-Slack-Signature` for a body and timestamp, as Slack does (v0:
 * HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret). For tests
 * and fakes; production only verifies (src/slack/signature.ts).
 */
export function signSlackRequest(signingSecret: string, body: string, timestamp: string | number): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${String(timestamp)}:${body}`, 'utf8').digest('hex')}`;
}
