//! #13 item 9: the receivers' IAM policies, as the SAM template writes them, allow exactly the AWS
//! calls the functions make — and the internet-facing webhook function cannot touch the
//! sap-writer's idempotency items.
//!
//! The calls are what moto_server's request recorder saw while the real receiver code ran against
//! it; the decisions come from an evaluator we did not write (Principal Mapper's local policy
//! simulation, driven by `tests/python/iam_simulate.py`), because moto itself checks DynamoDB
//! requests against the resource "*" and evaluates no condition operator but `StringEquals`.

use b1force_cli::local::opportunity_change_event;
use e2e::moto::MotoServer;
use e2e::pipeline::COMMIT_MS;
use serde_json::{Value, json};
use shared::ingress::salesforce_webhook::sign;
use shared::ports::{Clock, SystemClock};
use shared::wiring::ReceiverDeps;
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

const WEBHOOK_KEY: &str = "b1force-moto-webhook-key-0123456789abcdef";

/// The template's logical ids and the physical names this test gives them on moto.
const BIND: [(&str, &str); 6] = [
    ("ToSapQueue", "b1force-to-sap.fifo"),
    ("AuditTable", "b1force-audit"),
    ("IdempotencyTable", "b1force-idempotency"),
    ("SyncStateTable", "b1force-sync-state"),
    ("WebhookSigningSecret", "b1force/webhook"),
    ("OutboundMessageToken", "b1force/outbound"),
];

#[derive(Debug)]
struct Decision {
    action: String,
    resource: String,
    leading_keys: Vec<String>,
    allowed: bool,
}

impl Decision {
    fn from_json(value: &Value) -> Self {
        let text = |field: &str| value[field].as_str().unwrap_or_default().to_string();
        Decision {
            action: text("action"),
            resource: text("resource"),
            leading_keys: value["leading_keys"]
                .as_array()
                .map(|keys| keys.iter().filter_map(|k| k.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            allowed: value["allowed"].as_bool().expect("each decision says allowed or not"),
        }
    }
}

#[derive(Debug)]
struct Verdicts {
    calls: Vec<Decision>,
    probes: Vec<Decision>,
}

/// Asks `iam_simulate.py` what `function`'s template policy decides for each recorded call and probe.
/// Calls to a resource named in `outside` (not the stack's) are left out.
fn simulate(function: &str, recording: &str, outside: &[&str], probes: Value) -> anyhow::Result<Verdicts> {
    let script = format!("{}/python/iam_simulate.py", env!("CARGO_MANIFEST_DIR"));
    let request = json!({
        "function": function,
        "bind": BIND.iter().map(|(logical, name)| (logical.to_string(), json!(name))).collect::<serde_json::Map<_, _>>(),
        "recording": recording,
        "outside": outside,
        "probes": probes,
    });
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child.stdin.take().expect("piped").write_all(request.to_string().as_bytes())?;
    let output = child.wait_with_output()?;
    anyhow::ensure!(
        output.status.success(),
        "{script} failed (pip install 'principalmapper==1.1.5'?): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Value = serde_json::from_slice(&output.stdout)?;
    let decisions = |field: &str| verdicts[field].as_array().map(|d| d.iter().map(Decision::from_json).collect());
    Ok(Verdicts { calls: decisions("calls").unwrap_or_default(), probes: decisions("probes").unwrap_or_default() })
}

/// moto with what both receivers use, named as `BIND` says; returns the server and the receiver settings.
async fn stack() -> anyhow::Result<(MotoServer, HashMap<String, String>)> {
    let moto = MotoServer::start().await?;
    let (to_sap_url, _) = moto.create_fifo_queue_with_dlq("b1force-to-sap", 5).await?;
    moto.create_audit_table("b1force-audit").await?;
    moto.create_sync_state_table("b1force-sync-state").await?;
    moto.create_idempotency_table("b1force-idempotency").await?;
    moto.create_secret("b1force/webhook", WEBHOOK_KEY).await?;
    moto.create_secret("b1force/outbound", "outbound-token-0123456789").await?;
    let settings = [
        ("TO_SAP_QUEUE_URL", to_sap_url),
        ("AUDIT_TABLE", "b1force-audit".into()),
        ("SYNC_STATE_TABLE", "b1force-sync-state".into()),
        ("IDEMPOTENCY_TABLE", "b1force-idempotency".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Ok((moto, settings))
}

fn denied(decisions: &[Decision]) -> Vec<&Decision> {
    decisions.iter().filter(|d| !d.allowed).collect()
}

fn made(decisions: &[Decision], action: &str, resource: &str) -> bool {
    decisions.iter().any(|d| d.action == action && d.resource == resource)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webhook_function_may_do_what_it_does_and_not_touch_the_sap_writers_idempotency_items() -> anyhow::Result<()>
{
    let (moto, mut settings) = stack().await?;
    settings.insert("WEBHOOK_SECRET_ID".into(), "b1force/webhook".into());
    settings.insert("OUTBOUND_TOKEN_SECRET_ID".into(), "b1force/outbound".into());
    let sdk = moto.sdk_config().await;
    let sample = std::fs::read_to_string(format!(
        "{}/../events/sf-receiver/webhook-function-url.json",
        env!("CARGO_MANIFEST_DIR")
    ))?;
    let ts = (SystemClock.now_millis() / 1000).to_string();
    let signed = |body: &str, id: &str| -> Value {
        let mut event: Value = serde_json::from_str(&sample).unwrap();
        event["headers"]["x-b1force-timestamp"] = json!(ts);
        event["headers"]["x-b1force-signature"] = json!(sign(WEBHOOK_KEY.as_bytes(), &ts, body.as_bytes()));
        event["requestContext"]["requestId"] = json!(id);
        event["body"] = json!(body);
        event
    };
    let accepted = r#"{"object":"Opportunity","recordIds":["006SB00000001GHYAY"],"reason":"updated"}"#;
    let unqueued = r#"{"object":"Opportunity","recordIds":["006SB00000002GHYAY"],"reason":"updated"}"#;

    moto.start_recording().await?;
    // Accepted: the replay claim (PutItem), the enqueue, the claim completed (UpdateItem), the audit.
    let deps = ReceiverDeps::from_env(&sdk, &settings)?;
    assert_eq!(deps.ingress().handle_http_tallied(&signed(accepted, "accepted")).await.0.status, 202);
    // Replayed: the claim is refused by its condition.
    assert_eq!(deps.ingress().handle_http_tallied(&signed(accepted, "replayed")).await.0.status, 401);
    // The queue is away: nothing was accepted, so the claim is released (DeleteItem).
    settings.insert("TO_SAP_QUEUE_URL".into(), settings["TO_SAP_QUEUE_URL"].replace("b1force-to-sap", "b1force-gone"));
    let broken = ReceiverDeps::from_env(&sdk, &settings)?;
    let _ = broken.ingress().handle_http_tallied(&signed(unqueued, "unqueued")).await;
    let recording = moto.take_recording().await?;

    let sap_writer_key = "sap:Opportunity:006SB00000001GHYAY";
    // The missing queue is not the stack's: its SendMessage is not a call the policy must allow.
    let probes = json!([
        {"action": "dynamodb:DeleteItem", "resource": "IdempotencyTable", "leading_keys": [sap_writer_key]},
        {"action": "dynamodb:PutItem", "resource": "IdempotencyTable", "leading_keys": [sap_writer_key]},
        {"action": "dynamodb:UpdateItem", "resource": "IdempotencyTable", "leading_keys": [sap_writer_key]},
        {"action": "dynamodb:PutItem", "resource": "IdempotencyTable", "leading_keys": ["webhook:x", sap_writer_key]},
        {"action": "dynamodb:Scan", "resource": "IdempotencyTable", "leading_keys": []},
        {"action": "dynamodb:DeleteItem", "resource": "AuditTable", "leading_keys": ["sf:Opportunity:006SB00000001GHYAY"]},
        {"action": "dynamodb:PutItem", "resource": "SyncStateTable", "leading_keys": ["written#sf:Opportunity:x"]},
    ]);
    let verdicts = simulate("SfWebhookFunction", &recording, &["b1force-gone.fifo"], probes)?;

    assert!(
        denied(&verdicts.calls).is_empty(),
        "the policy refuses calls the function makes: {:?}",
        denied(&verdicts.calls)
    );
    for (action, resource) in [
        ("secretsmanager:GetSecretValue", "WebhookSigningSecret"),
        ("dynamodb:PutItem", "IdempotencyTable"),
        ("dynamodb:UpdateItem", "IdempotencyTable"),
        ("dynamodb:DeleteItem", "IdempotencyTable"),
        ("sqs:SendMessage", "ToSapQueue"),
        ("dynamodb:PutItem", "AuditTable"),
    ] {
        assert!(made(&verdicts.calls, action, resource), "{action} on {resource} not seen: {:?}", verdicts.calls);
    }
    let on_idempotency: Vec<_> = verdicts.calls.iter().filter(|d| d.resource == "IdempotencyTable").collect();
    assert!(on_idempotency.iter().all(|d| d.leading_keys.len() == 1 && d.leading_keys[0].starts_with("webhook:")));
    assert!(
        verdicts.probes.iter().all(|d| !d.allowed),
        "the webhook function may touch what it must not: {:?}",
        verdicts.probes.iter().filter(|d| d.allowed).collect::<Vec<_>>()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cdc_receiver_may_enqueue_and_audit_and_has_no_idempotency_access_at_all() -> anyhow::Result<()> {
    let (moto, settings) = stack().await?;
    let deps = ReceiverDeps::from_env(&moto.sdk_config().await, &settings)?;
    moto.start_recording().await?;
    // No changeOrigin: the receiver asks the sync state whether our writers wrote this (GetItem).
    let event = opportunity_change_event("006SB00000001GHYAY", "UPDATE", "", COMMIT_MS, "moto-iam");
    deps.receiver().receive(&event).await?;
    // The arrival note the no-CDC alarm reads (#16 item 9): one PutItem on its own key.
    deps.note_cdc_arrival(&event).await;
    let recording = moto.take_recording().await?;

    let probes = json!([
        {"action": "dynamodb:PutItem", "resource": "SyncStateTable", "leading_keys": ["written#sf:Opportunity:x"]},
        {"action": "dynamodb:PutItem", "resource": "SyncStateTable", "leading_keys": ["caught-up#sweep:salesforce"]},
        {"action": "dynamodb:PutItem", "resource": "IdempotencyTable", "leading_keys": ["webhook:x"]},
        {"action": "dynamodb:DeleteItem", "resource": "IdempotencyTable", "leading_keys": ["webhook:x"]},
        {"action": "secretsmanager:GetSecretValue", "resource": "WebhookSigningSecret"},
    ]);
    let verdicts = simulate("SfReceiverFunction", &recording, &[], probes)?;
    assert!(
        denied(&verdicts.calls).is_empty(),
        "the policy refuses calls the function makes: {:?}",
        denied(&verdicts.calls)
    );
    for (action, resource) in [
        ("dynamodb:GetItem", "SyncStateTable"),
        ("sqs:SendMessage", "ToSapQueue"),
        ("dynamodb:PutItem", "AuditTable"),
        ("dynamodb:PutItem", "SyncStateTable"),
    ] {
        assert!(made(&verdicts.calls, action, resource), "{action} on {resource} not seen: {:?}", verdicts.calls);
    }
    assert!(verdicts.probes.iter().all(|d| !d.allowed), "{:?}", verdicts.probes);
    Ok(())
}
