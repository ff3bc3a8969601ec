// `npm run package` as CI runs it (esbuild, then `osls package`, offline and without AWS
// credentials), then assertions on what it produced: the CloudFormation template and the zips.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { botEnvSchema } from '../../../src/config/env.js';
import { createLambdaRuntime } from '../../../src/runtime/lambda.js';
import { STATE_INDEX, tableDefinition, TTL_ATTRIBUTE } from '../../../src/store/dynamodb.js';
import { readZip, type ZipEntry } from './zip.js';

const root = join(import.meta.dirname, '..', '..', '..');
const out = join(root, '.serverless');

type Json = Record<string, any>;
let template: { Resources: Record<string, { Type: string; Properties: Json; DependsOn?: string[] }>; Outputs: Json };
const zips: Record<'api' | 'worker', ZipEntry[]> = { api: [], worker: [] };
let scratch: string;

beforeAll(() => {
  // No AWS credentials of any kind: packaging must not need them.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_')) env[k] = v;
  scratch = mkdtempSync(join(tmpdir(), 'force-down-package-'));
  Object.assign(env, {
    AWS_CONFIG_FILE: join(scratch, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const res = spawnSync('npm', ['run', 'package'], { cwd: root, env, encoding: 'utf8', timeout: 110_000 });
  if (res.status !== 0) throw new Error(`npm run package failed (${res.status ?? res.signal}):\n${res.stdout}\n${res.stderr}`);
  template = JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
  zips.api = readZip(join(out, 'api.zip'));
  zips.worker = readZip(join(out, 'worker.zip'));
}, 120_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const resources = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const resource = (id: string) => {
  const r = template.Resources[id];
  if (!r) throw new Error(`no resource ${id} in the template (it has ${Object.keys(template.Resources).join(', ')})`);
  return r;
};
const ref = (id: string) => ({ Ref: id });
const getAtt = (id: string, attr: string) => ({ 'Fn::GetAtt': [id, attr] });
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

describe('npm run package: the functions', () => {
  it('api and worker run nodejs22.x on arm64, from the bundled handlers', () => {
    const fns = Object.fromEntries(resources('AWS::Lambda::Function'));
    expect(Object.keys(fns).sort()).toEqual(['ApiLambdaFunction', 'WorkerLambdaFunction']);
    expect(fns.ApiLambdaFunction!.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'dist/functions/api.handler' });
    expect(fns.WorkerLambdaFunction!.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'dist/functions/worker.handler' });
    // api answers Slack (3 s budget) and alerts; the worker waits on Nova and Slack.
    expect(fns.ApiLambdaFunction!.Properties.Timeout).toBeLessThanOrEqual(10);
    expect(fns.WorkerLambdaFunction!.Properties.Timeout).toBeGreaterThanOrEqual(30);
  });

  it('their environment names only variables the code reads, and is a valid configuration', () => {
    const known = new Set([...Object.keys(botEnvSchema.shape), 'FORCE_DOWN_TABLE', 'FORCE_DOWN_WORKER_FUNCTION', 'FORCE_DOWN_STAGE']);
    for (const id of ['ApiLambdaFunction', 'WorkerLambdaFunction']) {
      const vars: Json = resource(id).Properties.Environment.Variables;
      expect(Object.keys(vars).filter((k) => !known.has(k))).toEqual([]);
      expect(vars).toMatchObject({
        FORCE_DOWN_SECRET_ID: 'force-down/ci',
        FORCE_DOWN_TABLE: ref('RequestsTable'),
        FORCE_DOWN_WORKER_FUNCTION: resource('WorkerLambdaFunction').Properties.FunctionName,
        FORCE_DOWN_APPROVERS: 'U0000000000',
        FORCE_DOWN_TWO_PERSON: 'false',
        FORCE_DOWN_REQUEST_TTL_MINUTES: '30',
      });
      // As Lambda hands them over (Refs resolved); empty stage parameters must read as "not set".
      const env = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : 'force-down-ci-requests']));
      vi.stubEnv('AWS_REGION', 'us-east-1');
      try {
        expect(() => createLambdaRuntime(env, { info() {}, warn() {}, error() {} })).not.toThrow();
      } finally {
        vi.unstubAllEnvs();
      }
    }
  });

  it('routes POST /slack/events, GET /healthz, POST /alerts/{source} and PUT /events to api', () => {
    const routes = resources('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(['GET /healthz', 'POST /alerts/{source}', 'POST /slack/events', 'PUT /events']);
    const integrations = Object.fromEntries(resources('AWS::ApiGatewayV2::Integration'));
    for (const route of routes) {
      // Target: integrations/<the integration's id>
      expect(route.Target['Fn::Join'][1][0]).toBe('integrations');
      const integration = integrations[route.Target['Fn::Join'][1][1].Ref as string];
      expect(integration?.Properties).toMatchObject({ IntegrationUri: getAtt('ApiLambdaFunction', 'Arn'), PayloadFormatVersion: '2.0' });
    }
  });

  it('the worker: async retries, then the DLQ as on-failure destination; swept every minute', () => {
    const configs = resources('AWS::Lambda::EventInvokeConfig');
    expect(configs).toHaveLength(1);
    const [, config] = configs[0]!;
    expect(config.Properties.FunctionName).toEqual(ref('WorkerLambdaFunction'));
    expect(config.Properties.MaximumRetryAttempts).toBeGreaterThanOrEqual(1);
    expect(config.Properties.MaximumRetryAttempts).toBeLessThanOrEqual(2);
    expect(config.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: getAtt('DeadLetterQueue', 'Arn') } });
    // No job, retries included, outlives the confirmation it acts on: Lambda drops it first (the worker would refuse it).
    const vars: Json = resource('WorkerLambdaFunction').Properties.Environment.Variables;
    expect(vars.FORCE_DOWN_CONFIRMATION_MAX_AGE_SECONDS).toBe('600');
    expect(config.Properties.MaximumEventAgeInSeconds).toBeLessThanOrEqual(Number(vars.FORCE_DOWN_CONFIRMATION_MAX_AGE_SECONDS));
    // The worker outlives the longest heartbeat watch it may be configured for (≤ 120 s) plus the Nova calls.
    expect(vars.FORCE_DOWN_HEARTBEAT_WAIT_SECONDS).toBe('20');
    expect(resource('WorkerLambdaFunction').Properties.Timeout).toBeGreaterThanOrEqual(120 + 30);

    const rules = resources('AWS::Events::Rule').map(([, r]) => r.Properties);
    expect(rules).toEqual([expect.objectContaining({ ScheduleExpression: 'rate(1 minute)', Targets: [expect.objectContaining({ Arn: getAtt('WorkerLambdaFunction', 'Arn'), Input: '{"kind":"sweep"}' })] })]);
  });

  it('every log group has a retention', () => {
    const groups = resources('AWS::Logs::LogGroup');
    expect(groups.map(([id]) => id).sort()).toEqual(['ApiLogGroup', 'HttpApiLogGroup', 'WorkerLogGroup']);
    for (const [, g] of groups) expect(g.Properties.RetentionInDays).toBe(90);
  });
});

describe('npm run package: the resources in infra/', () => {
  it('the table is tableDefinition() of src/store/dynamodb.ts, with TTL and point-in-time recovery', () => {
    const table = resource('RequestsTable');
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    const def = tableDefinition('unused');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: def.AttributeDefinitions,
      KeySchema: def.KeySchema,
      GlobalSecondaryIndexes: def.GlobalSecondaryIndexes,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(def.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Properties.GlobalSecondaryIndexes.map((i: Json) => i.IndexName)).toEqual([STATE_INDEX]);
  });

  it('the DLQ has an alarm as soon as it holds a message, notifying a topic', () => {
    expect(resource('DeadLetterQueue').Type).toBe('AWS::SQS::Queue');
    const alarms = resources('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    expect(alarms).toEqual([
      expect.objectContaining({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: getAtt('DeadLetterQueue', 'QueueName') }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [ref('AlarmTopic')],
      }),
    ]);
    expect(resource('AlarmTopic').Type).toBe('AWS::SNS::Topic');
  });

  it('holds no secret value: the secret is referenced by name only', () => {
    const text = JSON.stringify(template);
    expect(text).not.toMatch(/xox[abp]-|signingSecret|botToken|application_credential|BEGIN CERTIFICATE/);
    expect(resources('AWS::SecretsManager::Secret')).toEqual([]);
  });
});

describe('npm run package: IAM, least privilege', () => {
  type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
  const statementsOf = (roleId: string): Statement[] =>
    (resource(roleId).Properties.Policies as Json[]).flatMap((p) => p.PolicyDocument.Statement as Statement[]);
  const allStatements = () =>
    [...resources('AWS::IAM::Role'), ...resources('AWS::IAM::Policy'), ...resources('AWS::IAM::ManagedPolicy')].flatMap(([, r]) =>
      r.Type === 'AWS::IAM::Role' ? ((r.Properties.Policies ?? []) as Json[]).flatMap((p) => p.PolicyDocument.Statement as Statement[]) : (r.Properties.PolicyDocument.Statement as Statement[]),
    );
  const SCOPED = /^(secretsmanager|dynamodb|lambda|sqs):/;
  /** Every literal string in a Resource, Fn::Sub templates included. */
  const strings = (v: unknown): string[] =>
    typeof v === 'string' ? [v] : Array.isArray(v) ? v.flatMap(strings) : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : [];

  it('each function has its own role, and no shared default role exists', () => {
    expect(resource('ApiLambdaFunction').Properties.Role).toEqual(getAtt('ApiRole', 'Arn'));
    expect(resource('WorkerLambdaFunction').Properties.Role).toEqual(getAtt('WorkerRole', 'Arn'));
    expect(resources('AWS::IAM::Role').map(([id]) => id).sort()).toEqual(['ApiRole', 'WorkerRole']);
  });

  it('no statement for Secrets Manager, DynamoDB, Lambda or SQS has a wildcard action or resource', () => {
    const scoped = allStatements().filter((s) => asList(s.Action).some((a) => SCOPED.test(a)));
    // Secret, table and invoke for both roles, send for the worker.
    expect(scoped).toHaveLength(7);
    for (const s of scoped) {
      expect(asList(s.Action).filter((a) => a.includes('*'))).toEqual([]);
      expect(strings(s.Resource).filter((r) => r.includes('*'))).toEqual([]);
    }
  });

  it('both roles: GetSecretValue on the one secret; the table and its index only, for the five item actions', () => {
    const worker = resource('WorkerLambdaFunction').Properties.FunctionName;
    expect(worker).toBe('force-down-ci-worker');
    for (const role of ['ApiRole', 'WorkerRole']) {
      const statements = statementsOf(role);
      const secret = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('secretsmanager:')));
      expect(secret).toEqual([
        expect.objectContaining({
          Action: ['secretsmanager:GetSecretValue'],
          // Secrets Manager appends "-" and six random characters to the name.
          Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:force-down/ci-??????' }],
        }),
      ]);
      const table = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('dynamodb:')));
      expect(table).toHaveLength(1);
      expect(asList(table[0]!.Action).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
      expect(table[0]!.Resource).toEqual([getAtt('RequestsTable', 'Arn'), { 'Fn::Sub': `\${RequestsTable.Arn}/index/${STATE_INDEX}` }]);
    }
  });

  it('both may invoke the worker and nothing else (the sweep enqueues card refreshes); only the worker may send, and only to the DLQ', () => {
    const api = statementsOf('ApiRole');
    const worker = statementsOf('WorkerRole');
    const withPrefix = (ss: Statement[], prefix: string) => ss.filter((s) => asList(s.Action).some((a) => a.startsWith(prefix)));
    for (const statements of [api, worker]) {
      expect(withPrefix(statements, 'lambda:')).toEqual([
        expect.objectContaining({
          Action: ['lambda:InvokeFunction'],
          Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:force-down-ci-worker' }],
        }),
      ]);
    }
    expect(withPrefix(worker, 'sqs:')).toEqual([expect.objectContaining({ Action: ['sqs:SendMessage'], Resource: [getAtt('DeadLetterQueue', 'Arn')] })]);
    expect(withPrefix(api, 'sqs:')).toEqual([]);
    // Logs: each function its own log group.
    expect(withPrefix(api, 'logs:')).toEqual([expect.objectContaining({ Resource: [getAtt('ApiLogGroup', 'Arn')] })]);
    expect(withPrefix(worker, 'logs:')).toEqual([expect.objectContaining({ Resource: [getAtt('WorkerLogGroup', 'Arn')] })]);
  });
});

describe('npm run package: the zips', () => {
  /** The relative .mjs modules a bundle file imports, statically or dynamically. */
  const importsOf = (code: string) => [...code.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["'](\.\.?\/[^"']+\.mjs)["']/g)].map((m) => m[1]!);

  /** The handler and every chunk it loads, transitively, as paths inside the zip. */
  function closure(entries: ZipEntry[], entry: string): string[] {
    const byName = new Map(entries.map((e) => [e.name, e]));
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      const file = byName.get(name);
      if (!file) return;
      for (const spec of importsOf(file.data.toString('utf8'))) visit(posix.join(posix.dirname(name), spec));
    };
    visit(entry);
    return [...seen];
  }

  it.each(['api', 'worker'] as const)('%s.zip holds its handler and every chunk it imports, and nothing else', (fn) => {
    const names = zips[fn].map((e) => e.name);
    const needed = closure(zips[fn], `dist/functions/${fn}.mjs`);
    expect(needed.length).toBeGreaterThan(1);
    expect(needed.filter((n) => !names.includes(n))).toEqual([]);
    // No node_modules, sources or source maps: the bundle is self-contained.
    expect(names.filter((n) => !/^dist\/functions\/(api|worker|chunks\/[\w-]+)\.mjs$/.test(n))).toEqual([]);
    expect(names).not.toContain(`dist/functions/${fn === 'api' ? 'worker' : 'api'}.mjs`);
  });

  it('the worker zip holds the Nova client chunk it loads on first use', () => {
    const needed = closure(zips.worker, 'dist/functions/worker.mjs');
    expect(needed.some((n) => /chunks\/cloud-[\w-]+\.mjs$/.test(n))).toBe(true);
  });

  it('the api zip, unpacked alone, loads without network and answers GET /healthz', () => {
    const dir = join(scratch, 'api');
    for (const e of zips.api) {
      mkdirSync(dirname(join(dir, e.name)), { recursive: true });
      writeFileSync(join(dir, e.name), e.data);
    }
    const vars: Json = resource('ApiLambdaFunction').Properties.Environment.Variables;
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' };
    for (const [k, v] of Object.entries(vars)) env[k] = typeof v === 'string' ? v : 'force-down-ci-requests';
    const script = `
      const { handler } = await import(${JSON.stringify(join(dir, 'dist/functions/api.mjs'))});
      const res = await handler({ version: '2.0', rawPath: '/healthz', headers: {}, requestContext: { requestId: 'req-healthz', http: { method: 'GET' } } }, { awsRequestId: 'aws-1' });
      process.stderr.write('\\n@@RESULT@@' + JSON.stringify(res) + '\\n');`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, env, encoding: 'utf8', timeout: 20_000 });
    expect(res.status, res.stderr).toBe(0);
    const result = /@@RESULT@@(.*)/.exec(res.stderr)?.[1];
    expect(JSON.parse(result ?? 'null'), res.stderr).toMatchObject({ statusCode: 200 });
    const line = JSON.parse(res.stdout.trim().split('\n').at(-1)!);
    expect(line).toMatchObject({ level: 'INFO', message: 'http request', service: 'force-down', fn: 'api', correlationId: 'req-healthz', awsRequestId: 'aws-1', path: '/healthz', status: 200 });
  });
});
