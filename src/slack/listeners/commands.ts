import type { App } from '@slack/bolt';
import { findForcedDownRequest, openEvacuationForm } from '../../app/evacuation-flow.js';
import { openRequest } from '../../app/requests.js';
import type { ForceDownRequest } from '../../domain/request.js';
import { helpText } from '../blocks.js';
import { parseSlashCommand } from '../command.js';
import { openRequestExistsText, refusalText } from '../messages.js';
import { inert } from '../mrkdwn.js';
import type { ListenerDeps } from './deps.js';
import { evacuationRefusalText, openEvacuateModal } from './evacuation.js';

/** The card's message link, as Slack builds it (https://<workspace>.slack.com/archives/<channel>/p<ts without the dot>). */
function cardLink(teamDomain: string | undefined, r: ForceDownRequest): string | undefined {
  return teamDomain && /^[a-z0-9-]+$/i.test(teamDomain) && r.messageTs && /^\d+\.\d+$/.test(r.messageTs) && /^[CGD][A-Z0-9]+$/.test(r.channel)
    ? `https://${teamDomain}.slack.com/archives/${r.channel}/p${r.messageTs.replace('.', '')}`
    : undefined;
}

/** `/force-down …`: help, status and list (enqueued for the worker), and opening a request. */
export function register(app: App, listenerDeps: ListenerDeps): void {
  const { deps, groups } = listenerDeps;
  app.command(/^\/force-down/, async ({ command, ack, client, respond }) => {
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
            : { kind: 'list', cloud, responseUrl: command.response_url, ...(parsed.page !== undefined ? { page: parsed.page } : {}) },
        );
        return ephemeral(parsed.kind === 'status' ? `Asking Nova about *${parsed.host}*…` : 'Asking Nova for down and forced-down compute services…');
      }
      case 'evacuate': {
        // The host's forced-down card, and its evacuation modal (or Retry failed… when its evacuation has failures).
        const cloud = parsed.cloud ?? deps.defaultCloud;
        if (!deps.nova(cloud)) return ephemeral(refusalText('UNKNOWN_CLOUD', { host: parsed.host, action: 'force-down', cloud }));
        const request = await findForcedDownRequest(deps, cloud, parsed.host);
        if (!request) {
          return ephemeral(
            `No card here has *${inert(parsed.host, 80)}* (${inert(cloud, 64)}) forced down, so there is nothing to evacuate from it yet: force it down first with \`/force-down ${inert(parsed.host, 80)}\`.`,
          );
        }
        const userGroups = await groups(command.user_id);
        const first = await openEvacuationForm(deps, { id: request.id, userId: command.user_id, userGroups, retry: false });
        const res = first.kind === 'refused' && first.refusal === 'EVACUATION_STARTED' ? await openEvacuationForm(deps, { id: request.id, userId: command.user_id, userGroups, retry: true }) : first;
        if (res.kind === 'refused') {
          const text = evacuationRefusalText(res.refusal === 'NOTHING_TO_RETRY' && first.kind === 'refused' ? first : res);
          const link = cardLink(command.team_domain, request);
          return ephemeral(link ? `${text} <${link}|The card>.` : text);
        }
        await ack();
        const tell = (text: string) => respond({ response_type: 'ephemeral', text });
        return openEvacuateModal(listenerDeps, client, command.trigger_id, res.request, res.form, tell);
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
