"""A stack's sync triggers on moto_server, made and read with boto3 (not our SDK): the schedules the
template names <stack>-<suffix> and the two SQS event source mappings. Used by
tests/tests/operator_on_moto.rs for `b1force pause` / `resume`.

  python3 moto_triggers.py create ENDPOINT STACK TO_SAP_QUEUE_URL WAKE_QUEUE_URL
  python3 moto_triggers.py read ENDPOINT STACK TO_SAP_QUEUE_URL WAKE_QUEUE_URL   -> JSON on stdout
"""
import io
import json
import sys
import zipfile

import boto3

SUFFIXES = [
    "poll-business-partners", "poll-items", "poll-quotations", "poll-orders", "poll-delivery-notes", "poll-invoices",
    "poll-credit-notes", "poll-incoming-payments", "poll-stock", "poll-price-lists", "drain-to-salesforce",
    "reconcile-daily", "reconcile-month-end", "sweep-lost-events",
]


def clients(endpoint):
    kwargs = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    return {name: boto3.client(name, **kwargs) for name in ("iam", "lambda", "scheduler", "sqs")}


def queue_arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def create(c, stack, to_sap_url, wake_url):
    role = c["iam"].create_role(
        RoleName=f"{stack}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "scheduler.amazonaws.com"]},
             "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    functions = {}
    for name in ("sap-writer", "sf-writer", "sap-poller"):
        functions[name] = c["lambda"].create_function(
            FunctionName=f"{stack}-{name}", Runtime="provided.al2023", Role=role, Handler="bootstrap",
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
    c["lambda"].create_event_source_mapping(
        EventSourceArn=queue_arn(c["sqs"], to_sap_url), FunctionName=functions["sap-writer"], BatchSize=10, Enabled=True)
    c["lambda"].create_event_source_mapping(
        EventSourceArn=queue_arn(c["sqs"], wake_url), FunctionName=functions["sf-writer"], BatchSize=100,
        MaximumBatchingWindowInSeconds=2, Enabled=True)
    for suffix in SUFFIXES:
        c["scheduler"].create_schedule(
            Name=f"{stack}-{suffix}", ScheduleExpression="rate(1 minute)", State="ENABLED",
            FlexibleTimeWindow={"Mode": "OFF"}, Description=f"b1force {suffix}",
            Target={"Arn": functions["sap-poller"], "RoleArn": role, "Input": json.dumps({"entity": suffix}),
                    "RetryPolicy": {"MaximumRetryAttempts": 0}},
        )


def read(c, stack, to_sap_url, wake_url):
    schedules = {}
    for suffix in SUFFIXES:
        s = c["scheduler"].get_schedule(Name=f"{stack}-{suffix}")
        schedules[s["Name"]] = {k: s.get(k) for k in ("State", "ScheduleExpression", "Description", "FlexibleTimeWindow", "Target")}
    mappings = []
    for url in (to_sap_url, wake_url):
        for m in c["lambda"].list_event_source_mappings(EventSourceArn=queue_arn(c["sqs"], url))["EventSourceMappings"]:
            mappings.append({"queue": url, "State": m["State"]})
    return {"schedules": schedules, "mappings": mappings}


def main():
    command, endpoint, stack, to_sap_url, wake_url = sys.argv[1:6]
    c = clients(endpoint)
    if command == "create":
        create(c, stack, to_sap_url, wake_url)
    else:
        print(json.dumps(read(c, stack, to_sap_url, wake_url), default=str))


if __name__ == "__main__":
    main()
