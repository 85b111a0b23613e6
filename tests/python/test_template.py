"""The SAM template's monitoring and reconciler wiring (issues #5, #6), read as data.

cfn-lint and checkov check each resource against AWS's rules; these tests check what they cannot: the
dashboard body is JSON once `!Sub` has filled it in, every alarm reaches the alarm topic, every
dead-letter queue and function is watched, the alarms watch the metrics the functions emit, and the
reconciler's schedules send the input it expects.
"""
import json
import pathlib
import re

import pytest
import yaml

from cfn_template import PSEUDO, CfnLoader  # tests/python is on pytest's path (rootdir import mode)

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"

# The metric contract between the functions (EMF, namespace B1Force) and the template.
AGREED_METRICS = {
    "RecordsIn", "RecordsOut", "RecordsFailed", "RecordsDeadLettered", "SapApiCalls", "SalesforceApiCalls",
    "SalesforceApiHeadroom", "WatermarkLagSeconds", "OrderConversionSucceeded", "OrderConversionFailed",
    "OrderAgeSeconds", "InvoiceSyncLagSeconds", "ReconciliationExceptions", "ReconciliationRepairs",
    # The sf-writer's own, kept beside the common ones.
    "RecordsWritten", "RecordsSkipped", "RecordsRetried", "BudgetStops",
    # Records kept queued because the set-up is wrong (#13 item 5).
    "ConfigurationError",
    # Public Function URL requests refused before authentication: counted, audited as a sample (#13 item 8).
    "RequestsRefused",
    # The lost-event sweep: opportunities no event brought, business time without a change event (#16 item 9).
    "LostEventsSwept", "CdcSilenceSeconds",
}
FUNCTION_NAMES = {"sf-receiver", "sap-writer", "sap-lookup", "sap-poller", "sf-writer", "sap-webhook", "reconciler"}


@pytest.fixture(scope="module")
def template():
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)


def of_type(template, kind):
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def substitute(text, template):
    """What `!Sub` makes of `text`: parameters take their defaults, resources a stand-in name or ARN.
    An unknown name raises, as CloudFormation would refuse the template."""
    def value(match):
        name, _, attr = match.group(1).partition(".")
        if name in PSEUDO:
            return PSEUDO[name]
        if name in template.get("Parameters", {}):
            return str(template["Parameters"][name]["Default"])
        if name in template["Resources"]:
            return f"arn:aws:test:::{name}" if attr == "Arn" else f"{name}-{attr or 'ref'}".lower()
        raise KeyError(f"!Sub refers to {match.group(1)!r}, which is no parameter or resource")

    return re.sub(r"\$\{([^!}][^}]*)\}", value, text).replace("${!", "${")


def dashboard(template):
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    return json.loads(substitute(body, template))


def alarm_metric_stats(alarm):
    """(namespace, metric name, dimensions) of every metric an alarm reads, single or in metric math."""
    props = alarm["Properties"]
    if "MetricName" in props:
        yield props["Namespace"], props["MetricName"], props.get("Dimensions", [])
    for query in props.get("Metrics", []):
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            yield metric["Namespace"], metric["MetricName"], metric.get("Dimensions", [])


def dashboard_b1force_metrics(body):
    """(metric name, Function dimension or None) of every B1Force metric the dashboard shows."""
    found = []
    for widget in body["widgets"]:
        for row in widget.get("properties", {}).get("metrics", []):
            if row and row[0] == "B1Force":
                dims = dict(zip(row[2:-1:2], row[3:-1:2])) if isinstance(row[-1], dict) else dict(zip(row[2::2], row[3::2]))
                found.append((row[1], dims.get("Function")))
            for part in row:
                if isinstance(part, dict) and "expression" in part:
                    for search in re.findall(r"SEARCH\('\{B1Force[^}]*\}([^']*)'", part["expression"]):
                        metric = re.search(r'MetricName="(\w+)"', search).group(1)
                        function = re.search(r'Function="([\w-]+)"', search)
                        found.append((metric, function.group(1) if function else None))
    return found


def test_the_dashboard_body_is_json_once_substituted_and_names_only_existing_parameters_and_resources(template):
    body = dashboard(template)
    metric_widgets = [w for w in body["widgets"] if w["type"] == "metric"]
    assert len(metric_widgets) >= 15
    for widget in metric_widgets:
        props = widget["properties"]
        assert props["region"] == PSEUDO["AWS::Region"], props["title"]
        assert props["metrics"], props["title"]
    # Annotations carry the alarm thresholds as numbers, not strings.
    annotations = [a for w in metric_widgets for a in w["properties"].get("annotations", {}).get("horizontal", [])]
    assert annotations and all(isinstance(a["value"], (int, float)) for a in annotations)


def test_the_alarm_widget_lists_every_alarm_in_the_template(template):
    alarms = set(of_type(template, "AWS::CloudWatch::Alarm"))
    [widget] = [w for w in dashboard(template)["widgets"] if w["type"] == "alarm"]
    shown = {arn.removeprefix("arn:aws:test:::") for arn in widget["properties"]["alarms"]}
    assert shown == alarms


def test_every_alarm_notifies_the_alarm_topic_on_alarm_and_ok_under_a_stack_prefixed_unique_name(template):
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 15
    names = []
    for logical_id, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id
        assert props["OKActions"] == [{"Ref": "AlarmTopic"}], logical_id
        assert props["TreatMissingData"] in {"notBreaching", "breaching", "ignore", "missing"}, logical_id
        assert "docs/runbook.md" in props["AlarmDescription"], logical_id
        name = props["AlarmName"]["Fn::Sub"]
        assert name.startswith("${AWS::StackName}-"), logical_id
        names.append(name)
    assert len(names) == len(set(names))


def test_every_dead_letter_queue_has_a_depth_alarm(template):
    queues = of_type(template, "AWS::SQS::Queue")
    dlqs = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            for q in queues.values() if "RedrivePolicy" in q["Properties"]}
    for function in of_type(template, "AWS::Serverless::Function").values():
        for event in function["Properties"].get("Events", {}).values():
            if "DeadLetterConfig" in event["Properties"]:
                dlqs.add(event["Properties"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0])
    for function in of_type(template, "AWS::Serverless::Function").values():
        on_failure = function["Properties"].get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure")
        if on_failure:
            dlqs.add(on_failure["Destination"]["Fn::GetAtt"][0])
    assert {"ToSapDeadLetterQueue", "ToSalesforceDeadLetterQueue", "ReceiverEventDeadLetterQueue",
            "ReceiverFailedInvocationsQueue"} <= dlqs
    watched = {
        dims[0]["Value"]["Fn::GetAtt"][0]
        for alarm in of_type(template, "AWS::CloudWatch::Alarm").values()
        for namespace, metric, dims in alarm_metric_stats(alarm)
        if (namespace, metric) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        and alarm["Properties"]["Threshold"] == 0 and alarm["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
    }
    assert dlqs <= watched, f"DLQs without a depth alarm: {dlqs - watched}"


def test_every_work_queue_has_an_oldest_message_alarm_with_the_threshold_parameter(template):
    work = {n for n, q in of_type(template, "AWS::SQS::Queue").items() if "RedrivePolicy" in q["Properties"]}
    watched = {
        dims[0]["Value"]["Fn::GetAtt"][0]
        for alarm in of_type(template, "AWS::CloudWatch::Alarm").values()
        for namespace, metric, dims in alarm_metric_stats(alarm)
        if metric == "ApproximateAgeOfOldestMessage"
        and alarm["Properties"]["Threshold"] == {"Ref": "OldestMessageAlarmSeconds"}
    }
    assert work and work <= watched


def test_every_function_has_an_error_rate_alarm_over_its_own_errors_and_invocations(template):
    functions = set(of_type(template, "AWS::Serverless::Function"))
    assert "ReconcilerFunction" in functions
    covered = set()
    for alarm in of_type(template, "AWS::CloudWatch::Alarm").values():
        reads = {(metric, dims[0]["Value"].get("Ref")) for namespace, metric, dims in alarm_metric_stats(alarm)
                 if namespace == "AWS/Lambda"}
        targets = {function for _, function in reads}
        if {metric for metric, _ in reads} == {"Errors", "Invocations"} and len(targets) == 1:
            expression = next(q["Expression"] for q in alarm["Properties"]["Metrics"] if "Expression" in q)
            assert "/ invocations" in expression
            assert alarm["Properties"]["Threshold"] == {"Ref": "ErrorRateAlarmPercent"}
            covered |= targets
    assert functions == covered, f"functions without an error-rate alarm: {functions - covered}"


def test_the_b1force_metrics_watched_are_the_agreed_names_and_functions(template):
    watched = [(metric, {d["Name"]: d["Value"] for d in dims}.get("Function"))
               for alarm in of_type(template, "AWS::CloudWatch::Alarm").values()
               for namespace, metric, dims in alarm_metric_stats(alarm) if namespace == "B1Force"]
    shown = dashboard_b1force_metrics(dashboard(template))
    assert len(watched) >= 10 and len(shown) >= 15
    for metric, function in watched + shown:
        assert metric in AGREED_METRICS, metric
        assert function is None or function in FUNCTION_NAMES, (metric, function)
    assert AGREED_METRICS <= {metric for metric, _ in shown}, "metrics missing from the dashboard"


def test_every_b1force_metric_the_template_watches_is_emitted_somewhere_in_the_functions(template):
    # An alarm on a metric nobody emits never fires: each name must appear as a string literal in Rust.
    sources = "\n".join(p.read_text() for d in ("shared/src", "functions") for p in (ROOT / d).rglob("*.rs"))
    names = {metric for alarm in of_type(template, "AWS::CloudWatch::Alarm").values()
             for namespace, metric, _ in alarm_metric_stats(alarm) if namespace == "B1Force"}
    names |= {metric for metric, _ in dashboard_b1force_metrics(dashboard(template))}
    missing = sorted(name for name in names if f'"{name}"' not in sources)
    assert not missing, f"watched in infra/template.yaml but emitted by no function: {missing}"


@pytest.mark.parametrize("event, period", [("Daily", "month_to_date"), ("MonthEnd", "previous_month")])
def test_scheduled_reconciliations_send_their_period_and_repair_only_when_the_parameter_is_true(template, event, period):
    assert template["Conditions"]["RepairOnSchedule"] == {"Fn::Equals": [{"Ref": "ReconcileRepair"}, "true"]}
    assert template["Parameters"]["ReconcileRepair"]["Default"] == "false"
    props = template["Resources"]["ReconcilerFunction"]["Properties"]["Events"][event]["Properties"]
    condition, repairing, plain = props["Input"]["Fn::If"]
    assert condition == "RepairOnSchedule"
    assert json.loads(repairing) == {"period": period, "repair": True}
    assert json.loads(plain) == {"period": period}


def test_the_schedules_default_to_daily_at_0230_the_first_of_the_month_at_0400_and_aging_at_0030(template):
    events = template["Resources"]["ReconcilerFunction"]["Properties"]["Events"]
    defaults = {name: template["Parameters"][e["Properties"]["ScheduleExpression"]["Ref"]]["Default"]
                for name, e in events.items()}
    assert defaults == {"Daily": "cron(30 2 * * ? *)", "MonthEnd": "cron(0 4 1 * ? *)", "Sweep": "rate(15 minutes)",
                        "Aging": "cron(30 0 * * ? *)"}
    # The aging run asks for aging only: an input the reconciler reads as a reconciliation would
    # compare the whole ledger every night at 00:30.
    assert json.loads(events["Aging"]["Properties"]["Input"]) == {"aging": True}


def test_the_reconciler_has_the_sf_writers_sap_and_salesforce_settings_and_its_report_targets(template):
    resources = template["Resources"]
    writer = resources["SfWriterFunction"]["Properties"]["Environment"]["Variables"]
    reconciler = resources["ReconcilerFunction"]["Properties"]
    env = reconciler["Environment"]["Variables"]
    for key in (k for k in writer if k.startswith(("SAP_", "SF_"))):
        assert env.get(key) == writer[key], key
    assert env["REPORTS_BUCKET"] == {"Ref": "ReportsBucket"}
    assert env["REPORT_TOPIC_ARN"] == {"Ref": "ReportTopic"}
    assert env["TO_SALESFORCE_QUEUE_URL"] == {"Ref": "ToSalesforceQueue"}
    assert "TO_SAP_QUEUE_URL" in template["Globals"]["Function"]["Environment"]["Variables"]
    assert reconciler["VpcConfig"] == resources["SfWriterFunction"]["Properties"]["VpcConfig"]
    assert reconciler["Timeout"] == 900


def test_the_reconciler_may_write_reports_only_under_its_prefix(template):
    reconciler = template["Resources"]["ReconcilerFunction"]["Properties"]
    prefix = reconciler["Environment"]["Variables"]["REPORTS_PREFIX"]
    statements = reconciler["Policies"][0]["Statement"]
    [put] = [s for s in statements if "s3:PutObject" in s["Action"]]
    assert put["Action"] == ["s3:PutObject"]
    assert put["Resource"] == {"Fn::Sub": "${ReportsBucket.Arn}/" + prefix + "*"}


def test_function_policies_grant_no_wildcard_action_or_resource(template):
    for name, function in of_type(template, "AWS::Serverless::Function").items():
        for policy in function["Properties"].get("Policies", []):
            for statement in policy["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                assert all("*" not in action for action in actions), (name, actions)
                assert "*" not in resources, (name, statement)


def test_the_reports_bucket_is_private_encrypted_versioned_expiring_and_tls_only(template):
    resources = template["Resources"]
    bucket = resources["ReportsBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"][k] is True for k in
               ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert any(r["ExpirationInDays"] == {"Ref": "ReportRetentionDays"} for r in bucket["LifecycleConfiguration"]["Rules"])
    [deny] = resources["ReportsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Condition"]) == \
        ("Deny", "*", {"Bool": {"aws:SecureTransport": "false"}})


def test_email_subscriptions_exist_only_when_an_address_is_given(template):
    resources = template["Resources"]
    for subscription, parameter, condition in (("AlarmEmailSubscription", "AlarmEmail", "HasAlarmEmail"),
                                               ("ReportEmailSubscription", "ReportEmail", "HasReportEmail")):
        assert resources[subscription]["Condition"] == condition
        assert template["Parameters"][parameter]["Default"] == ""
        assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}


def test_the_internet_facing_receiver_may_touch_only_webhook_replay_claims_in_the_idempotency_table(template):
    # The sap-writer's idempotency records share the table; a compromised receiver must not be able
    # to delete or overwrite them (#13 item 9). Replay keys are `webhook:<digest>`
    # (shared/src/ingress/salesforce_webhook.rs).
    statements = template["Resources"]["SfWebhookFunction"]["Properties"]["Policies"][0]["Statement"]
    on_table = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]
    assert on_table, statements
    for statement in on_table:
        assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["webhook:*"]}}, statement
    source = (ROOT / "shared/src/ingress/salesforce_webhook.rs").read_text()
    assert 'replay_key: format!("webhook:{}"' in source


def test_the_receiver_keeps_events_it_failed_on_in_a_standard_queue(template):
    # EventBridge invokes the receiver asynchronously: after Lambda's retries only an on-failure
    # destination keeps the event (#13 item 1). Lambda destinations take standard queues only.
    receiver = of_type(template, "AWS::Serverless::Function")["SfReceiverFunction"]["Properties"]
    config = receiver["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2 and config["MaximumEventAgeInSeconds"] <= 21600
    on_failure = config["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    queue = template["Resources"][on_failure["Destination"]["Fn::GetAtt"][0]]["Properties"]
    assert not queue.get("FifoQueue") and queue["MessageRetentionPeriod"] == 1209600


def test_each_function_url_checks_signatures_with_a_key_of_its_own(template):
    # #13 item 7: the webhook and the lookup keys are separate secrets, each readable only by its function.
    functions = of_type(template, "AWS::Serverless::Function")
    env = lambda name: functions[name]["Properties"]["Environment"]["Variables"]
    webhook, lookup = env("SfWebhookFunction")["WEBHOOK_SECRET_ID"], env("SapLookupFunction")["LOOKUP_SECRET_ID"]
    assert webhook != lookup

    def readable(name):
        return [r for statement in functions[name]["Properties"]["Policies"] for s in statement["Statement"]
                if "secretsmanager:GetSecretValue" in s["Action"]
                for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    assert webhook in readable("SfWebhookFunction") and lookup not in readable("SfWebhookFunction")
    assert lookup in readable("SapLookupFunction") and webhook not in readable("SapLookupFunction")


def test_a_flood_on_the_public_url_cannot_take_the_cdc_paths_executions(template):
    # #13 item 8: the Function URL and the CDC rule are on different functions, each with reserved
    # concurrency of its own; the CDC function has no URL, no webhook key and no idempotency table.
    functions = of_type(template, "AWS::Serverless::Function")
    cdc, public = functions["SfReceiverFunction"]["Properties"], functions["SfWebhookFunction"]["Properties"]
    url = template["Resources"]["SfWebhookFunctionUrl"]["Properties"]
    assert url == {"TargetFunctionArn": {"Ref": "SfWebhookFunction"}, "AuthType": "NONE"}
    assert "FunctionUrlConfig" not in cdc and "FunctionUrlConfig" not in public
    assert any(e["Type"] == "EventBridgeRule" for e in cdc["Events"].values()) and "Events" not in public
    # Reserved when the account's quota allows (ReserveConcurrency, #16 item 4).
    reserved = lambda props: props["ReservedConcurrentExecutions"]["Fn::If"]
    assert reserved(cdc)[0] == reserved(public)[0] == "ReserveOn"
    assert reserved(cdc)[1] >= 10 and reserved(public)[1] >= 1
    resources = [s["Resource"] for s in cdc["Policies"][0]["Statement"]]
    assert {"Fn::GetAtt": ["IdempotencyTable", "Arn"]} not in resources
    assert not any("secretsmanager:GetSecretValue" in s["Action"] for s in cdc["Policies"][0]["Statement"])
    urls = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Url"]
    assert template["Outputs"]["ReceiverFunctionUrl"]["Value"] == {"Fn::GetAtt": ["SfWebhookFunctionUrl", "FunctionUrl"]}
    assert urls == [] or all("SfReceiver" not in n for n in urls)


def test_whatever_sends_to_salesforce_work_also_wakes_the_sf_writer(template):
    # #16 item 10: the sf-writer is started by wakes, not only by its schedule. Every function allowed to
    # send to to-salesforce.fifo has the wake queue's URL and may send to it; the wake queue's mapping
    # targets the sf-writer with the batching window parameter and a visibility timeout Lambda accepts.
    functions = of_type(template, "AWS::Serverless::Function")
    to_salesforce = {"Fn::GetAtt": ["ToSalesforceQueue", "Arn"]}
    wake_queue = {"Fn::GetAtt": ["SfWriterWakeQueue", "Arn"]}

    def sendable(props):
        return [r for policy in props.get("Policies", []) for s in policy["Statement"]
                if "sqs:SendMessage" in s["Action"]
                for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    senders = {name for name, f in functions.items() if to_salesforce in sendable(f["Properties"])}
    assert senders == {"SapPollerFunction", "SapWebhookFunction", "ReconcilerFunction", "SfWriterFunction"}
    for name in senders - {"SfWriterFunction"}:  # the sf-writer requeues its own held work
        props = functions[name]["Properties"]
        assert props["Environment"]["Variables"]["SF_WRITER_WAKE_QUEUE_URL"] == {"Ref": "SfWriterWakeQueue"}, name
        assert wake_queue in sendable(props), name

    writer = functions["SfWriterFunction"]["Properties"]
    wake = writer["Events"]["Wake"]
    assert wake["Type"] == "SQS" and wake["Properties"]["Queue"] == wake_queue
    assert wake["Properties"]["MaximumBatchingWindowInSeconds"] == {"Ref": "SfWriterWakeWindowSeconds"}
    assert wake["Properties"]["Enabled"] == {"Fn::If": ["SyncOn", True, False]}
    queue = template["Resources"]["SfWriterWakeQueue"]["Properties"]
    assert not queue.get("FifoQueue") and queue["VisibilityTimeout"] >= writer["Timeout"]
    assert writer["Events"]["Drain"]["Properties"]["ScheduleExpression"] == {"Ref": "DrainSchedule"}
    assert template["Parameters"]["PollSchedule"]["Default"] == "rate(1 minute)"


def test_the_lost_event_sweep_runs_on_its_schedule_and_both_of_its_alarms_watch_what_it_emits(template):
    # #16 item 9. The reconciler sweeps on SweepSchedule with {"sweep": true} (functions/reconciler),
    # the CDC receiver may write only its arrival note, and the alarms read the sweep's metrics.
    resources = template["Resources"]
    reconciler = resources["ReconcilerFunction"]["Properties"]
    sweep = reconciler["Events"]["Sweep"]["Properties"]
    assert json.loads(sweep["Input"]) == {"sweep": True}
    assert sweep["State"] == {"Fn::If": ["SyncOn", "ENABLED", "DISABLED"]}
    assert 'event.payload == serde_json::json!({"sweep": true})' in (ROOT / "functions/reconciler/src/main.rs").read_text()
    env = reconciler["Environment"]["Variables"]
    assert env["SWEEP_LAG_MINUTES"] == {"Ref": "SweepLagMinutes"}
    assert env["BUSINESS_HOURS"] == {"Fn::If": ["HasCdcBus", {"Ref": "BusinessHours"}, ""]}

    sweep_rs = (ROOT / "shared/src/engine/sweep.rs").read_text()
    arrival = re.search(r'pub const CDC_ARRIVAL: &str = "([^"]+)"', sweep_rs).group(1)
    cdc = resources["SfReceiverFunction"]["Properties"]["Policies"][0]["Statement"]
    writes = [s for s in cdc if s["Action"] == ["dynamodb:PutItem"] and s["Resource"] == {"Fn::GetAtt": ["SyncStateTable", "Arn"]}]
    assert [w["Condition"] for w in writes] == [{"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [f"caught-up#{arrival}"]}}]

    lost, silent = resources["LostSalesforceEventsAlarm"]["Properties"], resources["CdcSilenceAlarm"]["Properties"]
    assert (lost["MetricName"], lost["Threshold"], lost["ComparisonOperator"]) == ("LostEventsSwept", 1, "GreaterThanOrEqualToThreshold")
    assert silent["Threshold"] == {"Ref": "CdcSilenceAlarmBusinessHours"} and silent["TreatMissingData"] == "notBreaching"
    [stat] = [m["MetricStat"] for m in silent["Metrics"] if "MetricStat" in m]
    assert stat["Metric"]["MetricName"] == "CdcSilenceSeconds" and stat["Stat"] == "Maximum"
    assert [m["Expression"] for m in silent["Metrics"] if "Expression" in m] == ["silence / 3600"]
