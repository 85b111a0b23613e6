"""The first deploy and several stacks per account (#16 items 2-4), read off the template as
CloudFormation would create it: SAM's own translator expands it, then parameters and conditions are
resolved (cfn_template.render)."""
import pathlib
import re
import tomllib

import pytest

from cfn_template import ROOT, load, render

# Physical names AWS keeps unique per account and region (per schedule group for schedules), by the
# property that sets them. A resource type with a name property missing here fails the collision test.
PHYSICAL_NAME = {
    "AWS::SQS::Queue": "QueueName", "AWS::SNS::Topic": "TopicName", "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::KMS::Alias": "AliasName", "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Logs::LogGroup": "LogGroupName", "AWS::Scheduler::Schedule": "Name", "AWS::S3::Bucket": "BucketName",
    "AWS::Lambda::Function": "FunctionName", "AWS::IAM::Role": "RoleName", "AWS::DynamoDB::Table": "TableName",
    "AWS::SecretsManager::Secret": "Name", "AWS::Events::Rule": "Name",
}
# The longest name each service takes (SQS, EventBridge Scheduler, CloudWatch, KMS, Logs quotas).
NAME_LIMIT = {"QueueName": 80, "Name": 64, "AlarmName": 255, "AliasName": 256, "LogGroupName": 512,
              "TopicName": 256, "DashboardName": 255}
# docs/deploy.md promises stack names up to this length work.
LONGEST_STACK_NAME = "b1force-" + "x" * 22


def physical_names(rendered):
    names = {}
    for logical, resource in rendered["Resources"].items():
        props = resource.get("Properties", {})
        expected = PHYSICAL_NAME.get(resource["Type"])
        if expected is None:
            # A name given as text on a type not listed may be a physical name nobody checks.
            literal = [k for k, v in props.items() if k.endswith("Name") and isinstance(v, str)]
            assert not literal, f"{logical} ({resource['Type']}) names itself with {literal}: add it to PHYSICAL_NAME"
        elif expected in props:
            names[(resource["Type"], props[expected] if isinstance(props[expected], str) else repr(props[expected]))] = logical
    return names


def of_type(rendered, kind):
    return {logical: r for logical, r in rendered["Resources"].items() if r["Type"] == kind}


def test_with_sync_disabled_every_schedule_and_event_source_mapping_is_created_disabled():
    paused = render({"SyncEnabled": "false", "SalesforceEventBusName": "aws.partner/salesforce.com/00D/b1force"})
    schedules = of_type(paused, "AWS::Scheduler::Schedule")
    mappings = of_type(paused, "AWS::Lambda::EventSourceMapping")
    assert len(schedules) == 15 and len(mappings) == 2  # to-sap → sap-writer, wakes → sf-writer
    assert {n: s["Properties"]["State"] for n, s in schedules.items()} == {n: "DISABLED" for n in schedules}
    assert {n: m["Properties"]["Enabled"] for n, m in mappings.items()} == {n: False for n in mappings}
    # Salesforce changes are still received and queued for the sap-writer, not lost while paused.
    [rule] = of_type(paused, "AWS::Events::Rule").values()
    assert rule["Properties"]["State"] == "ENABLED"

    # Queued work outlives a long pause: both work queues keep messages the 14 days SQS allows.
    queues = of_type(paused, "AWS::SQS::Queue")
    assert {q["Properties"]["QueueName"]: q["Properties"]["MessageRetentionPeriod"] for q in queues.values()
            if "dlq" not in q["Properties"]["QueueName"] and q["Properties"].get("FifoQueue")} == {
        "b1force-to-sap.fifo": 1209600, "b1force-to-salesforce.fifo": 1209600}

    running = render({"SyncEnabled": "true", "SalesforceEventBusName": "aws.partner/salesforce.com/00D/b1force"})
    assert {s["Properties"]["State"] for s in of_type(running, "AWS::Scheduler::Schedule").values()} == {"ENABLED"}
    assert {m["Properties"]["Enabled"] for m in of_type(running, "AWS::Lambda::EventSourceMapping").values()} == {True}


def test_sync_is_disabled_by_default_in_the_template_and_in_samconfig():
    assert load()["Parameters"]["SyncEnabled"]["Default"] == "false"
    deploy = tomllib.loads((ROOT / "infra" / "samconfig.toml").read_text())["default"]["deploy"]["parameters"]
    assert "SyncEnabled=false" in deploy["parameter_overrides"].split()


def test_without_a_cdc_bus_the_stack_deploys_webhook_only_with_the_rule_waiting_disabled():
    rendered = render({"SalesforceEventBusName": ""})
    [rule] = of_type(rendered, "AWS::Events::Rule").values()
    assert rule["Properties"]["State"] == "DISABLED" and rule["Properties"]["EventBusName"] == "default"
    assert "SfWebhookFunctionUrl" in rendered["Resources"]


def test_two_stacks_in_one_account_and_region_share_no_physical_name():
    first, second = physical_names(render(stack_name="b1force")), physical_names(render(stack_name="b1force-staging"))
    assert len(first) >= 40, sorted(first)
    shared = set(first) & set(second)
    assert not shared, f"both stacks would create: {sorted(shared)}"


def test_every_physical_name_fits_its_service_limit_for_the_longest_documented_stack_name():
    deploy_doc = (ROOT / "docs" / "deploy.md").read_text()
    assert f"at most {len(LONGEST_STACK_NAME)} characters" in deploy_doc
    for (kind, name), logical in physical_names(render(stack_name=LONGEST_STACK_NAME)).items():
        limit = NAME_LIMIT.get(PHYSICAL_NAME[kind])
        assert limit is None or len(name) <= limit, f"{logical}: {name!r} is {len(name)} > {limit}"


def test_reserved_concurrency_is_off_by_default_and_its_total_is_the_documented_one():
    functions = lambda rendered: of_type(rendered, "AWS::Lambda::Function").values()
    assert not [f for f in functions(render()) if "ReservedConcurrentExecutions" in f["Properties"]]
    reserved = sum(f["Properties"]["ReservedConcurrentExecutions"] for f in functions(render({"ReserveConcurrency": "true"})))
    described = load()["Parameters"]["ReserveConcurrency"]["Description"]
    assert f"reserves {reserved} concurrent executions" in described
    assert f"at least {reserved + 100}" in described
    assert f"at least {reserved + 100}" in (ROOT / "docs" / "deploy.md").read_text()


def test_the_architecture_deployed_is_the_one_built_and_the_one_ci_builds():
    default = load()["Parameters"]["Architecture"]["Default"]
    config = tomllib.loads((ROOT / "infra" / "samconfig.toml").read_text())["default"]
    overrides = lambda section: dict(p.split("=", 1) for p in config[section]["parameters"]["parameter_overrides"].split())
    assert default == "x86_64" == overrides("build")["Architecture"] == overrides("deploy")["Architecture"]
    rendered = render()
    assert {tuple(f["Properties"]["Architectures"]) for f in of_type(rendered, "AWS::Lambda::Function").values()} == {("x86_64",)}


def test_every_function_logs_to_its_own_stack_named_group_with_the_retention_parameter():
    rendered = render({"LogRetentionDays": "30"}, stack_name="b1force-staging")
    groups = of_type(rendered, "AWS::Logs::LogGroup")
    functions = of_type(rendered, "AWS::Lambda::Function")
    used = [f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for f in functions.values()]
    assert sorted(used) == sorted(groups), "one group per function"
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == "30"
        assert group["Properties"]["LogGroupName"].startswith("/aws/lambda/b1force-staging/")
    assert {f["Properties"]["LoggingConfig"]["LogFormat"] for f in functions.values()} == {"JSON"}


def test_every_b1force_metric_alarm_and_dashboard_query_is_scoped_to_its_stack():
    rendered = render(stack_name="b1force-staging")
    for logical, alarm in of_type(rendered, "AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        queries = [props] + [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q]
        for metric in queries:
            if metric.get("Namespace") == "B1Force":
                assert {"Name": "Stack", "Value": "b1force-staging"} in metric["Dimensions"], logical
    [dashboard] = of_type(rendered, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    body = body if isinstance(body, str) else body["Fn::Sub"]
    assert body.count('"B1Force"') == body.count('"B1Force", ') and body.count('"B1Force"') > 0
    for row in re.findall(r'\["B1Force", "\w+", ([^{]*)', body):
        assert row.startswith('"Stack", "b1force-staging"'), row
    for search in re.findall(r"SEARCH\('(\{B1Force[^']*)'", body):
        assert search.startswith("{B1Force,Stack,") and 'Stack=\\"b1force-staging\\"' in search, search
    assert load()["Globals"]["Function"]["Environment"]["Variables"]["B1FORCE_STACK"] == {"Ref": "AWS::StackName"}


def test_the_cli_finds_every_table_and_queue_in_the_outputs():
    outputs = load()["Outputs"]
    for name in ("SyncStateTableName", "AuditTableName", "IdempotencyTableName", "ToSapQueueUrl",
                 "ToSapDeadLetterQueueUrl", "ToSalesforceQueueUrl", "ToSalesforceDeadLetterQueueUrl",
                 "ReceiverFailedInvocationsQueueUrl"):
        assert name in outputs, name


def test_without_subnets_no_function_is_in_a_vpc_and_with_them_exactly_those_that_call_sap_are():
    # #16 item 1: a Service Layer reachable over the internet with TLS needs no VPC; with the VPN, the
    # five functions that call SAP get the subnets and security groups, the receivers never.
    def in_vpc(rendered):
        return {name: f["Properties"]["VpcConfig"] for name, f in rendered["Resources"].items()
                if f["Type"] == "AWS::Lambda::Function" and "VpcConfig" in f["Properties"]}
    assert load()["Parameters"]["SubnetIds"]["Default"] == "" and load()["Parameters"]["SecurityGroupIds"]["Default"] == ""
    assert in_vpc(render()) == {}
    placed = in_vpc(render({"SubnetIds": "subnet-0a1,subnet-0b2", "SecurityGroupIds": "sg-0c3"}))
    assert set(placed) == {"SapWriterFunction", "SapLookupFunction", "SapPollerFunction", "SfWriterFunction",
                           "ReconcilerFunction"}
    assert all(v == {"SubnetIds": "subnet-0a1,subnet-0b2", "SecurityGroupIds": "sg-0c3"} for v in placed.values())


def test_each_public_function_url_has_both_permissions_new_urls_need():
    # Since October 2025 a new function URL answers 403 unless the function's policy allows both
    # lambda:InvokeFunctionUrl and lambda:InvokeFunction (InvokedViaFunctionUrl) to the public
    # (AWS Lambda Developer Guide, "Control access to Lambda function URLs"). SAM adds both only for a
    # literal FunctionUrlConfig; the template writes the URLs and both permissions out, so that
    # FunctionUrls=false can leave all of them out (#16 item 1).
    resources = render()["Resources"]
    urls = {r["Properties"]["TargetFunctionArn"]["Ref"] for r in resources.values()
            if r["Type"] == "AWS::Lambda::Url" and r["Properties"]["AuthType"] == "NONE"}
    assert urls == {"SfWebhookFunction", "SapLookupFunction", "SapWebhookFunction"}
    permissions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    for function in urls:
        mine = [p for p in permissions if p["FunctionName"] == {"Ref": function} and p["Principal"] == "*"]
        assert {(p["Action"], p.get("FunctionUrlAuthType"), p.get("InvokedViaFunctionUrl")) for p in mine} == {
            ("lambda:InvokeFunctionUrl", "NONE", None), ("lambda:InvokeFunction", None, True)}, (function, mine)


def test_without_function_urls_nothing_is_public():
    rendered = render({"FunctionUrls": "false"})
    public = [name for name, r in rendered["Resources"].items()
              if r["Type"] == "AWS::Lambda::Url" or (r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] == "*")]
    assert public == []
    assert not {"ReceiverFunctionUrl", "LookupFunctionUrl", "SapWebhookUrl"} & set(rendered["Outputs"])
    assert {"ReceiverFunctionUrl", "LookupFunctionUrl", "SapWebhookUrl"} <= set(render()["Outputs"])
