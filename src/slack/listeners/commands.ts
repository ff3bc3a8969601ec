import type { App } from '@slack/bolt';
import { openRequest } from '../../app/requests.js';
import type { ForceDownRequest } from '../../domain/request.js';
import { helpText } from '../blocks.js';
import { parseSlashCommand } from '../command.js';
import { openRequestExistsText, refusalText } from '../messages.js';
import type { ListenerDeps } from './deps.js';

/** The card's message link, as Slack builds it (https://<workspace>.slack.com/archives/<channel>/p<ts without the dot>). */
function cardLink(teamDomain: string | undefined, r: ForceDownRequest): string | undefined {
  return teamDomain && /^[a-z0-9-]+$/i.test(teamDomain) && r.messageTs && /^\d+\.\d+$/.test(r.messageTs) && /^[CGD][A-Z0-9]+$/.test(r.channel)
    ? `https://${teamDomain}.slack.com/archives/${r.channel}/p${r.messageTs.replace('.', '')}`
    : undefined;
}

/** `/force-down …`: help, status and list (enqueued for the worker), and opening a request. */
export function register(app: App, { deps }: ListenerDeps): void {
  app.command(/^\/force-down/, async ({ command, ack }) => {
    const parsed = parseSlashCommand(command.text ?? '');
    const ephemeral = (text: string) => ack({ response_type: 'ephemeral', text });
    switch (parsed.kind) {
      case 'help':
        return ephemeral(parsed.error ? `${parsed.error}\n\n${helpText()}` : helpText());
      case 'status':
      case 'list': {
        const cloud = parsed.cloud ?? deps.defaultCloud;
        if (!deps.nova(cloud)) return ephemeral(refusalText('UNKNOWN_CLOUD', { host: parsed.kind === 'status' ? parsed.host : '', action: 'force-down', cloud }));
        await deps.enqueue(
          parsed.kind === 'status'
            ? { kind: 'status', host: parsed.host, cloud, responseUrl: command.response_url }
            : { kind: 'list', cloud, responseUrl: command.response_url },
        );
        return ephemeral(parsed.kind === 'status' ? `Asking Nova about *${parsed.host}*…` : 'Asking Nova for down and forced-down compute services…');
      }
      case 'open': {
        const res = await openRequest(deps, {
          ...(parsed.cloud ? { cloud: parsed.cloud } : {}),
          host: parsed.host,
          binary: parsed.binary,
          action: parsed.action,
          origin: { kind: 'slash', userId: command.user_id, channelId: command.channel_id },
          requestedBy: command.user_id,
          channel: command.channel_id,
          ...(parsed.reason ? { reason: parsed.reason } : {}),
        });
        if (res.kind === 'opened') return ack();
        if (res.kind === 'exists') return ephemeral(openRequestExistsText(res.request.host, res.request.action, cardLink(command.team_domain, res.request)));
        return ephemeral(refusalText(res.refusal, { host: parsed.host, action: parsed.action, ...(parsed.cloud ? { cloud: parsed.cloud } : {}) }));
      }
    }
  });
}
