"""Would a function's IAM policy, as the SAM template writes it, allow the AWS calls it made?

Used by tests/tests/least_privilege_on_moto.rs (#13 item 9). moto_server enforces IAM only by action
(DynamoDB requests reach its evaluator with the resource "*") and evaluates no condition but
`StringEquals` (moto/iam/policy_conditions.py), so it cannot tell whether `dynamodb:LeadingKeys`
keeps the internet-facing webhook function to its `webhook:*` items. This script asks an evaluator
we did not write: NCC Group's Principal Mapper (`principalmapper` on PyPI), whose local policy
simulation implements ForAllValues/ForAnyValue and the String* operators as IAM documents them
(docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).

Input on stdin (JSON):
  {"function": "SfWebhookFunction",
   "bind": {"IdempotencyTable": "b1force-idempotency", ...},   # logical id -> physical name in the test
   "recording": "<moto's recorder output: one JSON request per line>",
   "outside": ["b1force-gone.fifo"],   # names of resources the stack does not have: their calls are left out
   "probes": [{"action": "dynamodb:DeleteItem", "resource": "IdempotencyTable", "leading_keys": ["k"]}]}
Output on stdout (JSON): {"calls": [decision...], "probes": [decision...]}, each decision
  {"action", "resource", "leading_keys", "allowed"}.
"""
import base64
import collections
import collections.abc
import json
import re
import sys
from urllib.parse import parse_qs, urlparse

import cfn_template

# principalmapper 1.1.5 imports Mapping from `collections`, which Python 3.10 removed; the names
# moved to collections.abc unchanged.
collections.Mapping = collections.abc.Mapping
collections.MutableMapping = collections.abc.MutableMapping
from principalmapper.querying.local_policy_simulation import policy_has_matching_statement  # noqa: E402
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

REGION = cfn_template.PSEUDO["AWS::Region"]
ACCOUNT = cfn_template.PSEUDO["AWS::AccountId"]
ARN_FORMS = {
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:{region}:{account}:secret:{name}",
}
# API operations IAM authorizes under another action: SQS's batch calls need the single call's
# permission ("Service Authorization Reference: Amazon SQS" lists no batch actions; the SendMessageBatch
# API reference: "the permissions are the same as for SendMessage").
IAM_ACTION_OF = {"sqs:SendMessageBatch": "sqs:SendMessage", "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
                 "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility"}


def arn(kind, name):
    return ARN_FORMS[kind].format(region=REGION, account=ACCOUNT, name=name)


class Stack:
    """The template's resources, with the physical names the test gave the ones it created."""

    def __init__(self, template, bind, outside=()):
        self.resources = template["Resources"]
        self.bind = bind
        self.outside = set(outside)
        self.by_name = {(self.resources[logical]["Type"], name): logical for logical, name in bind.items()}

    def arn_of(self, logical):
        kind = self.resources[logical]["Type"]
        if kind not in ARN_FORMS:
            raise SystemExit(f"iam_simulate: no ARN form for {logical} ({kind})")
        # A resource the test did not create gets a name no recorded call can have.
        return arn(kind, self.bind.get(logical, f"unbound-{logical}"))

    def resolve(self, value):
        """A policy's Resource: !GetAtt X.Arn and !Ref X become ARNs, !Sub strings their text."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            if attribute != "Arn":
                raise SystemExit(f"iam_simulate: cannot resolve !GetAtt {logical}.{attribute} in a policy")
            return self.arn_of(logical)
        if isinstance(value, dict) and "Ref" in value:
            return self.arn_of(value["Ref"])
        if isinstance(value, dict) and "Fn::Sub" in value:
            text = value["Fn::Sub"]
            return re.sub(r"\$\{([^}]+)\}", lambda m: cfn_template.PSEUDO.get(m.group(1), "unresolved"), text)
        return value

    def policy(self, function):
        """The inline statements of a function's `Policies`; SAM policy templates are refused (not modelled)."""
        statements = []
        for entry in self.resources[function]["Properties"].get("Policies", []):
            if not (isinstance(entry, dict) and "Statement" in entry):
                raise SystemExit(f"iam_simulate: {function} uses a policy this script does not model: {entry}")
            for statement in entry["Statement"]:
                resolved = dict(statement)
                for field in ("Resource", "NotResource"):
                    if field in resolved:
                        resolved[field] = self.resolve(resolved[field])
                statements.append(resolved)
        return {"Version": "2012-10-17", "Statement": statements}

    def hash_key(self, table_logical):
        schema = self.resources[table_logical]["Properties"]["KeySchema"]
        return next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")

    def logical_for(self, kind, name):
        """The logical id the test bound `name` to; None for a resource the test placed outside the stack."""
        if name in self.outside:
            return None
        logical = self.by_name.get((kind, name))
        if logical is None:
            raise SystemExit(f"iam_simulate: the recording reached {kind} {name!r}, which the test did not bind")
        return logical


def request_of(entry, stack):
    """(IAM action, logical id of the resource, leading keys) of one recorded request."""
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8")
    target = headers.get("x-amz-target")
    if target:
        prefix, operation = target.split(".", 1)
        service = {"DynamoDB_20120810": "dynamodb", "secretsmanager": "secretsmanager", "AmazonSQS": "sqs"}[prefix]
        fields = json.loads(body) if body else {}
    else:  # SQS's query protocol
        fields = {k: v[0] for k, v in parse_qs(body).items()}
        service, operation = "sqs", fields["Action"]
    action = f"{service}:{operation}"
    action = IAM_ACTION_OF.get(action, action)
    if service == "dynamodb":
        table = stack.logical_for("AWS::DynamoDB::Table", fields["TableName"])
        if table is None:
            return None
        key_name = stack.hash_key(table)
        item = fields.get("Item") or fields.get("Key")
        leading = [item[key_name]["S"]] if item else []
        return action, table, leading
    if service == "sqs":
        name = urlparse(fields["QueueUrl"]).path.rstrip("/").rsplit("/", 1)[-1]
        return action, stack.logical_for("AWS::SQS::Queue", name), []
    secret = fields["SecretId"]
    name = secret.split(":secret:", 1)[-1] if secret.startswith("arn:") else secret
    return action, stack.logical_for("AWS::SecretsManager::Secret", name), []


def decide(policy, stack, action, logical, leading_keys):
    resource = stack.arn_of(logical)
    context = CaseInsensitiveDict({"dynamodb:LeadingKeys": leading_keys} if leading_keys else {})
    allowed = (policy_has_matching_statement(policy, "Allow", action, resource, context)
               and not policy_has_matching_statement(policy, "Deny", action, resource, context))
    return {"action": action, "resource": logical, "leading_keys": leading_keys, "allowed": allowed}


def main():
    request = json.load(sys.stdin)
    stack = Stack(cfn_template.load(), request["bind"], request.get("outside", []))
    policy = stack.policy(request["function"])
    recorded = [request_of(json.loads(line), stack) for line in request["recording"].splitlines() if line.strip()]
    calls = [call for call in recorded if call[1] is not None]
    json.dump({
        "calls": [decide(policy, stack, *call) for call in calls],
        "probes": [decide(policy, stack, p["action"], p["resource"], p.get("leading_keys", []))
                   for p in request.get("probes", [])],
    }, sys.stdout)


if __name__ == "__main__":
    main()
