// `npm start`: the local bot on 127.0.0.1 (PORT, default 3000).
import { ConfigError } from '../config/schema.js';
import { startLocalBot } from './bot.js';

try {
  const bot = await startLocalBot({ env: process.env });
  process.stderr.write(
    [
      `force-down is listening on ${bot.url}`,
      'Put these in the Slack app (through a tunnel or proxy that reaches this address):',
      `  Slash command /force-down request URL: ${bot.url}/slack/events`,
      `  Interactivity request URL:             ${bot.url}/slack/events`,
      'Alert webhooks (sources configured under alerts.* in the secret document; bearer token):',
      `  Prometheus Alertmanager: POST ${bot.url}/alerts/alertmanager`,
      `  Grafana:                 POST ${bot.url}/alerts/grafana`,
      `  OPNFV Doctor inspector:  PUT  ${bot.url}/events`,
      `  Anything else (JSON):    POST ${bot.url}/alerts/generic`,
      `  PagerDuty (v3, signed):  POST ${bot.url}/alerts/pagerduty`,
      `Health: ${bot.url}/healthz`,
      `Inbound connections: at most ${bot.maxConnections} at once (FORCE_DOWN_MAX_CONNECTIONS)`,
      '',
    ].join('\n'),
  );
  const stop = () => void bot.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`force-down: cannot start: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
