// The worker in a VPC, so that it reaches the hosts' BMCs (Redfish) on the management network,
// which is never public. Two stage parameters, both or neither (comma-separated ids):
//
//   workerSubnetIds          subnet-…  subnets that route to the BMC network
//   workerSecurityGroupIds   sg-…      egress to the BMCs on 443 (and to the worker's other paths)
//
// Empty (the default): the worker is not in a VPC. The api never is: it only answers Slack and
// the alert webhooks, and reaches nothing private.
//
// serverless.yml reads two properties of this file, resolved by osls's `file` variable source:
//   functions.worker.vpc   ${file(infra/worker-vpc.cjs):vpc}        the block, or false (no VPC)
//   resources[]            ${file(infra/worker-vpc.cjs):resources}  the worker role's network
//                          interface permissions, or false (nothing added)
// A variable may not resolve to null (osls reports "Value not found"): `false` is how both say
// "nothing", for `vpc` (a function's `vpc: false` opts it out) and for `resources` (falsy
// entries of the resources list are skipped).

'use strict';

const SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP = /^sg-[0-9a-f]{8,17}$/;
// Lambda's own limits on a function's VPC configuration.
const MAX_SUBNETS = 16;
const MAX_SECURITY_GROUPS = 5;

/** An error osls shows as its message alone (it prints `error.stack` when there is one). */
function configError(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

const list = (value) =>
  String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function checked(name, ids, pattern, example, max) {
  const bad = ids.filter((id) => !pattern.test(id));
  if (bad.length > 0) {
    throw configError(`Stage parameter ${name}: ${bad.map((id) => JSON.stringify(id)).join(', ')} ${bad.length === 1 ? 'is not an id' : 'are not ids'} like ${example} (comma-separated).`);
  }
  if (new Set(ids).size !== ids.length) throw configError(`Stage parameter ${name} names an id twice.`);
  if (ids.length > max) throw configError(`Stage parameter ${name}: ${ids.length} ids, Lambda takes at most ${max}.`);
  return ids;
}

/** Both parameters parsed, or null when neither is set; throws when only one is. */
async function workerNetwork(resolveVariable) {
  const subnetIds = list(await resolveVariable('param:workerSubnetIds'));
  const securityGroupIds = list(await resolveVariable('param:workerSecurityGroupIds'));
  if (subnetIds.length === 0 && securityGroupIds.length === 0) return null;
  if (subnetIds.length === 0 || securityGroupIds.length === 0) {
    const [given, missing] = subnetIds.length === 0 ? ['workerSecurityGroupIds', 'workerSubnetIds'] : ['workerSubnetIds', 'workerSecurityGroupIds'];
    throw configError(
      `Stage parameter ${given} is set but ${missing} is not: the worker goes into a VPC only with both ` +
        '(subnets that route to the BMC network, and security groups allowing egress to the BMCs on 443), ' +
        'or stays out of any VPC with neither.',
    );
  }
  return {
    subnetIds: checked('workerSubnetIds', subnetIds, SUBNET, 'subnet-0123456789abcdef0', MAX_SUBNETS),
    securityGroupIds: checked('workerSecurityGroupIds', securityGroupIds, SECURITY_GROUP, 'sg-0123456789abcdef0', MAX_SECURITY_GROUPS),
  };
}

module.exports = {
  /** functions.worker.vpc */
  async vpc({ resolveVariable }) {
    const network = await workerNetwork(resolveVariable);
    return network ?? false;
  },

  /**
   * An entry of `resources`: what Lambda needs of the worker's role to manage its network
   * interfaces in the VPC (the EC2 actions of AWSLambdaVPCAccessExecutionRole, not its logs:
   * the role has those for its own log group). The describe actions support no resource-level
   * permissions ("*" is the only resource AWS accepts); the others are limited to this account
   * and region. Lambda checks the role when it creates or updates the function with a VPC
   * configuration, hence the function's DependsOn: the policy is attached first.
   */
  async resources({ resolveVariable }) {
    const network = await workerNetwork(resolveVariable);
    if (!network) return false;
    return {
      Resources: {
        WorkerNetworkInterfacesPolicy: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            PolicyName: 'force-down-worker-vpc',
            Roles: [{ Ref: 'WorkerRole' }],
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'DescribeNetworkInterfaces',
                  Effect: 'Allow',
                  Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
                  Resource: '*',
                },
                {
                  Sid: 'ManageNetworkInterfaces',
                  Effect: 'Allow',
                  Action: [
                    'ec2:CreateNetworkInterface',
                    'ec2:DeleteNetworkInterface',
                    'ec2:AssignPrivateIpAddresses',
                    'ec2:UnassignPrivateIpAddresses',
                  ],
                  Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:*/*' }],
                },
              ],
            },
          },
        },
      },
      extensions: {
        WorkerLambdaFunction: { DependsOn: ['WorkerNetworkInterfacesPolicy'] },
      },
    };
  },
};
