import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJsonLogger, createLambdaLogger, currentLogContext, runWithLogContext } from '../../../src/runtime/logger.js';

function recorder(base?: Record<string, unknown>) {
  const lines: string[] = [];
  const log = createJsonLogger({ write: (l) => lines.push(l), ...(base ? { base } : {}) });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createJsonLogger', () => {
  it('writes one JSON object per line: time, level, message, base fields, data', () => {
    const { log, lines, parsed } = recorder({ fn: 'api' });
    log.info('request opened', { requestId: 'r1', host: 'compute1' });
    log.warn('w');
    log.error('e');
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    const [info, warn, error] = parsed();
    expect(info).toMatchObject({ level: 'info', message: 'request opened', fn: 'api', requestId: 'r1', host: 'compute1' });
    expect(Date.parse(info!.time as string)).not.toBeNaN();
    expect(warn!.level).toBe('warn');
    expect(error!.level).toBe('error');
  });

  it('redacts values under secret-like keys, at any depth, in data, base and context alike', () => {
    const { log, lines } = recorder({ botToken: 'xoxb-SEKRET-base' });
    runWithLogContext({ authorization: 'Bearer SEKRET-ctx' }, () =>
      log.error('failed', {
        signingSecret: 'SEKRET-1',
        cloud: { auth: { password: 'SEKRET-2', application_credential_secret: 'SEKRET-3', username: 'force-down' } },
        headers: [{ 'x-slack-signature': 'v0=SEKRET-4' }],
        response_url: 'https://hooks.slack.com/commands/SEKRET-5',
      }),
    );
    expect(lines.join('\n')).not.toMatch(/SEKRET/);
    const line = JSON.parse(lines[0]!);
    expect(line.cloud.auth).toEqual({ password: '[redacted]', application_credential_secret: '[redacted]', username: 'force-down' });
    expect(line.signingSecret).toBe('[redacted]');
  });

  it('logs an Error by its name only (its message may quote a secret)', () => {
    const { log, parsed } = recorder();
    log.error('failed', { error: new Error('token xoxb-SEKRET was refused') });
    expect(parsed()[0]!.error).toEqual({ name: 'Error' });
  });

  it('child() adds fields to every line', () => {
    const { log, parsed } = recorder({ fn: 'worker' });
    log.child({ job: 'execute' }).child({ requestId: 'r9' }).info('x');
    expect(parsed()[0]).toMatchObject({ fn: 'worker', job: 'execute', requestId: 'r9' });
  });
});

describe('runWithLogContext', () => {
  it('adds its fields to every line written inside, across awaits, and only there', async () => {
    const { log, parsed } = recorder({ fn: 'api' });
    await runWithLogContext({ correlationId: 'c-1' }, async () => {
      log.info('before');
      await new Promise((r) => setTimeout(r, 1));
      await runWithLogContext({ job: 'show-card' }, async () => log.info('nested'));
      log.info('after');
    });
    log.info('outside');
    expect(parsed().map((l) => [l.message, l.correlationId, l.job])).toEqual([
      ['before', 'c-1', undefined],
      ['nested', 'c-1', 'show-card'],
      ['after', 'c-1', undefined],
      ['outside', undefined, undefined],
    ]);
  });

  it('keeps concurrent requests apart (the local server handles several at once)', async () => {
    const { log, parsed } = recorder();
    const one = (id: string, ms: number) =>
      runWithLogContext({ correlationId: id }, async () => {
        await new Promise((r) => setTimeout(r, ms));
        log.info(id);
        return currentLogContext().correlationId;
      });
    expect(await Promise.all([one('a', 5), one('b', 1)])).toEqual(['a', 'b']);
    expect(parsed().map((l) => [l.message, l.correlationId])).toEqual([
      ['b', 'b'],
      ['a', 'a'],
    ]);
  });
});

describe('createLambdaLogger (Powertools for AWS Lambda Logger)', () => {
  // Powertools writes info lines to stdout and warnings and errors to stderr (both go to CloudWatch Logs in Lambda).
  let lines: string[] = [];
  const originals = { out: process.stdout.write, err: process.stderr.write };
  beforeEach(() => {
    lines = [];
    const capture = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
    process.stdout.write = capture;
    process.stderr.write = capture;
  });
  afterEach(() => {
    process.stdout.write = originals.out;
    process.stderr.write = originals.err;
  });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, any>);

  it("writes Powertools' JSON shape (level, message, timestamp, service), then base fields, the log context and the data", async () => {
    const log = createLambdaLogger({ base: { fn: 'api' } });
    await runWithLogContext({ correlationId: 'c-9', awsRequestId: 'aws-1' }, async () => log.info('http request', { status: 200 }));
    log.warn('w');
    log.error('e');
    const [info, warn, error] = parsed();
    expect(info).toMatchObject({ level: 'INFO', message: 'http request', service: 'force-down', fn: 'api', correlationId: 'c-9', awsRequestId: 'aws-1', status: 200 });
    expect(Date.parse(info!.timestamp as string)).not.toBeNaN();
    expect([warn!.level, error!.level]).toEqual(['WARN', 'ERROR']);
    expect(warn!.correlationId).toBeUndefined();
    expect(lines.every((l) => l.trimEnd().split('\n').length === 1)).toBe(true);
  });

  it('redacts values under secret-like keys at any depth, in data, base and context alike, and logs an Error by its name only', () => {
    const log = createLambdaLogger({ base: { botToken: 'xoxb-SEKRET-base' } });
    runWithLogContext({ authorization: 'Bearer SEKRET-ctx' }, () =>
      log.child({ job: 'execute' }).error('failed', {
        signingSecret: 'SEKRET-1',
        cloud: { auth: { password: 'SEKRET-2', application_credential_secret: 'SEKRET-3', username: 'force-down' } },
        headers: [{ 'x-slack-signature': 'v0=SEKRET-4' }],
        response_url: 'https://hooks.slack.com/commands/SEKRET-5',
        error: new Error('token xoxb-SEKRET-6 was refused'),
      }),
    );
    expect(lines.join('\n')).not.toMatch(/SEKRET/);
    const [line] = parsed();
    expect(line!.cloud.auth).toEqual({ password: '[redacted]', application_credential_secret: '[redacted]', username: 'force-down' });
    expect(line).toMatchObject({ signingSecret: '[redacted]', botToken: '[redacted]', authorization: '[redacted]', job: 'execute', error: { name: 'Error' } });
  });
});
