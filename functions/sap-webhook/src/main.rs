//! sap-webhook Lambda: SAP Business One webhooks (FP 2602+) on the Function URL → notifications on
//! `to-salesforce.fifo`, beside the sap-poller. Clients are built once per container; the handler is
//! one call that always answers with a status code (see `shared::ingress::b1_webhook`).
#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::config::Env;
use shared::ports::{Clock, SystemClock};
use shared::telemetry::functions::sap_webhook;
use shared::wiring::SapWebhookDeps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let sdk = shared::aws::sdk_config().await;
    let deps = &SapWebhookDeps::from_env(&sdk, &Env)?;
    // A secret without a key, or naming an algorithm SAP does not offer, stops the cold start with the reason.
    deps.webhook().signing_key().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let (response, tally) = deps.webhook().handle_tallied(&event.payload).await;
        sap_webhook(&tally).emit(SystemClock.now_millis());
        Ok::<_, Error>(response)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use shared::wiring::SapWebhookDeps;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn each_missing_setting_is_named_at_cold_start() {
        let sdk = aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build();
        let all = [
            ("TO_SALESFORCE_QUEUE_URL", "https://sqs.eu-central-1.amazonaws.com/1/b1force-to-salesforce.fifo"),
            ("AUDIT_TABLE", "audit"),
            ("B1_WEBHOOK_SECRET_ID", "b1force/sap-webhook"),
        ];
        let deps = SapWebhookDeps::from_env(&sdk, &settings(&all)).unwrap();
        assert_eq!((deps.to_salesforce.queue.url(), deps.secret_id.as_str()), (all[0].1, all[2].1));
        for missing in all.map(|(name, _)| name) {
            let rest: Vec<_> = all.iter().copied().filter(|(name, _)| *name != missing).collect();
            let err = SapWebhookDeps::from_env(&sdk, &settings(&rest)).err().expect(missing).to_string();
            assert!(err.contains(missing), "{err}");
        }
        let bad_retention = [all.as_slice(), &[("AUDIT_RETENTION_DAYS", "ninety")]].concat();
        assert!(SapWebhookDeps::from_env(&sdk, &settings(&bad_retention)).is_err());
    }
}
