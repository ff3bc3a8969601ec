// The worker's optional VPC (stage parameters workerSubnetIds and workerSecurityGroupIds, resolved
// by infra/worker-vpc.cjs): `osls package` of the real serverless.yml and infra/, with and
// without them, then the CloudFormation template. The service is copied to a scratch directory
// with stand-in bundles, so these runs need no build and touch neither dist/ nor .serverless/
// (template.test.ts builds and packages the real thing, possibly at the same time).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const osls = join(root, 'node_modules', '.bin', 'osls');

type Json = Record<string, any>;
type Template = { Resources: Record<string, { Type: string; Properties: Json; DependsOn?: string[] }> };
type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown };

const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'];
const GROUPS = ['sg-0aaaaaaaaaaaaaaaa'];
/** The EC2 actions of AWS's managed policy AWSLambdaVPCAccessExecutionRole (v3). */
const LAMBDA_VPC_ACTIONS = [
  'ec2:AssignPrivateIpAddresses',
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:UnassignPrivateIpAddresses',
];

let scratch: string;
let env: Record<string, string>;

/** `osls package` of the copied service with these extra stage parameters. */
function osPackage(name: string, params: string[]) {
  const out = join(scratch, `out-${name}`);
  const args = ['package', '--stage', 'ci', '--region', 'us-east-1', '--package', out, '--param=approvers=U0000000000', ...params.map((p) => `--param=${p}`)];
  const res = spawnSync(osls, args, { cwd: join(scratch, 'service'), env, encoding: 'utf8', timeout: 60_000 });
  const output = `${res.stdout}\n${res.stderr}`;
  const template = res.status === 0 ? (JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template) : null;
  return { status: res.status, output, template };
}

let withVpc: ReturnType<typeof osPackage>;
let withoutVpc: ReturnType<typeof osPackage>;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'force-down-vpc-'));
  const service = join(scratch, 'service');
  mkdirSync(join(service, 'dist', 'functions', 'chunks'), { recursive: true });
  cpSync(join(root, 'serverless.yml'), join(service, 'serverless.yml'));
  cpSync(join(root, 'infra'), join(service, 'infra'), { recursive: true });
  // Stand-ins for the bundles: the package patterns must match something.
  for (const f of ['api.mjs', 'worker.mjs', 'chunks/shared.mjs']) writeFileSync(join(service, 'dist', 'functions', f), 'export {};\n');
  // No AWS credentials of any kind: packaging must not need them.
  env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_')) env[k] = v;
  Object.assign(env, {
    AWS_CONFIG_FILE: join(scratch, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  // Spaces around the commas, as people type them.
  withVpc = osPackage('with', [`workerSubnetIds=${SUBNETS.join(', ')}`, `workerSecurityGroupIds=${GROUPS.join(',')}`]);
  withoutVpc = osPackage('without', []);
}, 120_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function templateOf(run: ReturnType<typeof osPackage>): Template {
  if (!run.template) throw new Error(`osls package failed (${run.status}):\n${run.output}`);
  return run.template;
}
const functionsOf = (t: Template) => Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
/** Every IAM statement of the template, with the roles it applies to. */
function statements(t: Template): { roles: unknown[]; statement: Statement }[] {
  return Object.entries(t.Resources).flatMap(([id, r]) => {
    if (r.Type === 'AWS::IAM::Role') return ((r.Properties.Policies ?? []) as Json[]).flatMap((p) => (p.PolicyDocument.Statement as Statement[]).map((statement) => ({ roles: [{ Ref: id }], statement })));
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') return (r.Properties.PolicyDocument.Statement as Statement[]).map((statement) => ({ roles: r.Properties.Roles ?? [], statement }));
    return [];
  });
}
const ec2Statements = (t: Template) => statements(t).filter(({ statement }) => asList(statement.Action).some((a) => a.startsWith('ec2:')));

describe('worker VPC: with workerSubnetIds and workerSecurityGroupIds', () => {
  it('puts the worker, and only the worker, in those subnets and security groups', () => {
    const t = templateOf(withVpc);
    const fns = Object.fromEntries(functionsOf(t));
    expect(Object.keys(fns).sort()).toEqual(['ApiLambdaFunction', 'WorkerLambdaFunction']);
    expect(fns.WorkerLambdaFunction!.Properties.VpcConfig).toEqual({ SubnetIds: SUBNETS, SecurityGroupIds: GROUPS });
    expect(fns.ApiLambdaFunction!.Properties).not.toHaveProperty('VpcConfig');
  });

  it("gives the worker's role, and no other, the network interface permissions Lambda needs, before the function is created", () => {
    const t = templateOf(withVpc);
    const ec2 = ec2Statements(t);
    expect(ec2.flatMap(({ statement }) => asList(statement.Action)).sort()).toEqual(LAMBDA_VPC_ACTIONS);
    for (const { roles, statement } of ec2) {
      expect(roles).toEqual([{ Ref: 'WorkerRole' }]);
      expect(statement.Effect).toBe('Allow');
      const actions = asList(statement.Action);
      if (actions.every((a) => a.startsWith('ec2:Describe'))) {
        // Describe actions take no resource-level permissions: "*" is all AWS accepts.
        expect(statement.Resource).toBe('*');
      } else {
        // The rest: this account and region only.
        expect(statement.Resource).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:*/*' }]);
      }
    }
    // Lambda checks the role for these permissions when it creates the function in a VPC.
    const [policy] = Object.entries(t.Resources).find(([, r]) => r.Type === 'AWS::IAM::Policy') ?? [];
    expect(policy).toBeDefined();
    expect(t.Resources.WorkerLambdaFunction!.DependsOn).toContain(policy);
  });
});

describe('worker VPC: without them (the default)', () => {
  it('no function is in a VPC and no role has network interface permissions', () => {
    const t = templateOf(withoutVpc);
    const fns = functionsOf(t);
    expect(fns.map(([id]) => id).sort()).toEqual(['ApiLambdaFunction', 'WorkerLambdaFunction']);
    for (const [, fn] of fns) expect(fn.Properties).not.toHaveProperty('VpcConfig');
    expect(ec2Statements(t)).toEqual([]);
    expect(Object.values(t.Resources).filter((r) => r.Type === 'AWS::IAM::Policy')).toEqual([]);
  });
});

describe('worker VPC: misconfigured, packaging fails and says why', () => {
  it.each([
    ['subnets without security groups', [`workerSubnetIds=${SUBNETS[0]}`], /workerSubnetIds is set but workerSecurityGroupIds is not/],
    ['security groups without subnets', [`workerSecurityGroupIds=${GROUPS[0]}`], /workerSecurityGroupIds is set but workerSubnetIds is not/],
    ['the ids swapped', [`workerSubnetIds=${GROUPS[0]}`, `workerSecurityGroupIds=${SUBNETS[0]}`], /workerSubnetIds: "sg-0aaaaaaaaaaaaaaaa" is not an id like subnet-/],
  ])('%s', (name, params, message) => {
    const run = osPackage(name.replaceAll(' ', '-'), params);
    expect(run.status, run.output).not.toBe(0);
    expect(run.output).toMatch(message);
    expect(run.template).toBeNull();
  });
});
