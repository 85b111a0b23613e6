//! sap-webhook: SAP B1 webhook deliveries (FP 2602+) on a Function URL become notifications on
//! `to-salesforce.fifo`. Verifying and parsing is [`crate::ingress::b1_webhook`]; this handler
//! answers handshakes, enqueues deliveries and audits refusals.

use crate::domain::digest;
use crate::domain::state::Direction;
use crate::error::ErrorClass;
use crate::ingress::b1_webhook::*;
use crate::ingress::function_url::{
    FunctionUrlRequest, HttpResponse, IngressTally, Refusal, Rejection, internal_error, printable,
};
use crate::ports::AuditAction;
use crate::ports::{AuditEntry, AuditLog, Clock, Outcome, Queue, SecretStore};
use serde_json::{Value, json};
use tracing::Instrument;

/// What the Function URL handler needs: the queue, the audit trail, the clock and the HMAC key.
pub struct B1Webhook<'a> {
    /// `to-salesforce.fifo`.
    pub to_salesforce: &'a dyn Queue,
    pub audit: &'a dyn AuditLog,
    pub clock: &'a dyn Clock,
    /// Holds the HMAC key (put a cache in front: it is read on every request).
    pub secrets: &'a dyn SecretStore,
    /// The secret's name (`B1_WEBHOOK_SECRET_ID`); see [`signing_key`] for its format.
    pub secret_id: &'a str,
}

impl B1Webhook<'_> {
    /// Answers a Function URL event with the Function URL response JSON; never an error.
    pub async fn handle(&self, event: &Value) -> Value {
        self.handle_http(event).await.to_function_url()
    }

    /// [`B1Webhook::handle`], with what the request amounted to.
    pub async fn handle_tallied(&self, event: &Value) -> (Value, IngressTally) {
        let (response, tally) = self.handle_http_tallied(event).await;
        (response.to_function_url(), tally)
    }

    /// Answers one Function URL request; every outcome is a status code.
    pub async fn handle_http(&self, request: &Value) -> HttpResponse {
        self.handle_http_tallied(request).await.0
    }

    /// [`B1Webhook::handle_http`], with what the request amounted to: a notification delivery counts
    /// its events; reachability checks and handshakes count as no delivery.
    pub async fn handle_http_tallied(&self, request: &Value) -> (HttpResponse, IngressTally) {
        self.serve(&FunctionUrlRequest::from_event(request)).await
    }

    async fn serve(&self, request: &FunctionUrlRequest) -> (HttpResponse, IngressTally) {
        let (method, request_id) = (&request.method, &request.request_id);
        let span = tracing::info_span!("sap_webhook_http", method = %printable(method), request_id = %request_id);
        async {
            let none = IngressTally::default();
            let outcome = match method.as_str() {
                "HEAD" => return (HttpResponse { status: 200, content_type: "text/plain", body: String::new() }, none),
                // Without the token it is not the Messenger (a browser, a scanner): answered, not audited.
                "GET" if request.header(TOKEN_HEADER).is_none() => return (HttpResponse::from(&bad_token()), none),
                "GET" => self.handshake(request).await.map(|response| (response, none)),
                "POST" => self.notification(request).await,
                _ => {
                    let response = HttpResponse::from(&Rejection::new(
                        405,
                        "METHOD_NOT_ALLOWED",
                        "HEAD, GET (handshake) or POST (notifications) only",
                    ));
                    return (response, none);
                }
            };
            match outcome {
                Ok(answered) => answered,
                Err(Refusal::Rejected(rejection) | Refusal::Invalid(rejection)) => {
                    self.audit_rejection(request, &rejection).await;
                    (HttpResponse::from(&rejection), IngressTally::failed(ErrorClass::Permanent))
                }
                Err(Refusal::Failed(err)) => (internal_error(&err), IngressTally::failed(err.class())),
            }
        }
        .instrument(span)
        .await
    }

    /// `GET` with `X-B1-Webhook-Token`: the signature over the token, then the challenge.
    async fn handshake(&self, request: &FunctionUrlRequest) -> std::result::Result<HttpResponse, Refusal> {
        let token = handshake_token(request.header(TOKEN_HEADER))?;
        self.key().await?.verify(request.header(SIGNATURE_HEADER), token.as_bytes())?;
        tracing::info!("handshake answered");
        Ok(HttpResponse::json(200, json!({"Challenge": token})))
    }

    /// `POST`: size, signature over the raw bytes, the whole body parsed, one send, then 200.
    async fn notification(
        &self,
        request: &FunctionUrlRequest,
    ) -> std::result::Result<(HttpResponse, IngressTally), Refusal> {
        let body = request.body(MAX_BODY_BYTES)?;
        self.key().await?.verify(request.header(SIGNATURE_HEADER), &body)?;
        let delivery = parse_delivery(&body, self.clock.now_millis())?;
        if !delivery.notifications.is_empty() {
            self.to_salesforce.send(&delivery.messages()).await.map_err(Refusal::Failed)?;
        }
        let enqueued = delivery.notifications.len();
        tracing::info!(enqueued, ignored = delivery.ignored, "notification received");
        let tally = IngressTally::delivered((enqueued + delivery.ignored) as u64, enqueued as u64);
        Ok((HttpResponse::json(200, json!({"enqueued": enqueued, "ignored": delivery.ignored})), tally))
    }

    async fn key(&self) -> std::result::Result<SigningKey, Refusal> {
        self.signing_key().await.map_err(Refusal::Failed)
    }

    /// Reads and checks the signing key: the cold-start check, so a secret naming an algorithm SAP
    /// does not offer (or no key) stops the function with the reason instead of 500s per delivery.
    pub async fn signing_key(&self) -> crate::error::Result<SigningKey> {
        let value = self.secrets.get(self.secret_id).await?;
        signing_key(self.secret_id, &value)
    }

    /// Files a refusal under `sap:rejected:<request id>` with a digest of the body, never the body.
    async fn audit_rejection(&self, request: &FunctionUrlRequest, rejection: &Rejection) {
        let (method, request_id) = (&request.method, &request.request_id);
        tracing::warn!(status = rejection.status, code = rejection.code, reason = %rejection.message, "rejected request");
        // An oversized body is not even hashed.
        let body_digest = (rejection.status != 413).then(|| digest(request.body_as_sent().as_bytes()));
        let entry = AuditEntry {
            record_key: format!("sap:rejected:{request_id}"),
            at: self.clock.now_millis(),
            correlation_id: request_id.to_string(),
            direction: Direction::SapToSf,
            action: AuditAction::Receive,
            outcome: Outcome::Rejected,
            source_version: None,
            payload_digest: body_digest,
            error_code: Some(rejection.code.to_string()),
            error_class: Some(ErrorClass::Permanent),
            error: Some(format!("{method} B1 webhook: {}", rejection.message)),
            target_id: None,
        };
        if let Err(err) = self.audit.record(&entry).await {
            tracing::error!(error = %err, "could not audit the rejection");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Notification;
    use crate::embedded::{EmbeddedAudit, EmbeddedQueue, EmbeddedQueueOptions, EmbeddedSecrets, ManualClock};
    use crate::error::{Error, Result};
    use crate::ingress::b1_webhook::tests::{KEY, NOW, ORDER, event, test_key};
    use crate::ingress::function_url::HmacAlgorithm;
    use crate::ports::OutgoingMessage;
    use crate::ports::Secret;
    use base64::Engine;
    use std::sync::Arc;

    struct Rig {
        clock: Arc<ManualClock>,
        queue: EmbeddedQueue,
        audit: EmbeddedAudit,
        secrets: EmbeddedSecrets,
    }

    impl Rig {
        fn new() -> Self {
            let clock = Arc::new(ManualClock::new(NOW));
            let options =
                EmbeddedQueueOptions { visibility_timeout_secs: 30, max_receive_count: None, dead_letter: None };
            Self {
                queue: EmbeddedQueue::new("to-salesforce.fifo", options, clock.clone()),
                clock,
                audit: EmbeddedAudit::new(),
                secrets: EmbeddedSecrets::new().with("b1", KEY),
            }
        }

        fn webhook(&self) -> B1Webhook<'_> {
            B1Webhook {
                to_salesforce: &self.queue,
                audit: &self.audit,
                clock: self.clock.as_ref(),
                secrets: &self.secrets,
                secret_id: "b1",
            }
        }

        async fn call(&self, method: &str, headers: Value, body: &str) -> (u16, String) {
            let request = json!({"version": "2.0", "rawPath": "/", "headers": headers, "body": body, "isBase64Encoded": false,
                                 "requestContext": {"requestId": "req-1", "http": {"method": method}}});
            let response = self.webhook().handle(&request).await;
            (response["statusCode"].as_u64().unwrap() as u16, response["body"].as_str().unwrap().to_string())
        }
    }

    fn other_key() -> SigningKey {
        SigningKey::new(Secret::from("other".to_string()), HmacAlgorithm::Sha256)
    }

    /// A secret holding SAP's `AuthenticationCred` with HMAC-SHA512: handshake and delivery verify
    /// with SHA-512, a SHA-256 signature of the same key is refused, and a cold-start check of a
    /// secret naming an algorithm SAP does not offer fails with the reason.
    #[tokio::test]
    async fn saps_authentication_cred_with_sha512_is_verified_with_sha512() {
        let mut rig = Rig::new();
        rig.secrets = EmbeddedSecrets::new().with("b1", &format!(r#"{{"Key": "{KEY}", "Algorithm": "HMACSha512"}}"#));
        let sha512 = SigningKey::new(Secret::from(KEY.to_string()), HmacAlgorithm::Sha512);
        assert_eq!(rig.webhook().signing_key().await.unwrap().algorithm(), HmacAlgorithm::Sha512);
        let token = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let handshake = json!({"x-b1-webhook-token": token, "x-b1-webhook-signature": sha512.sign(token.as_bytes())});
        assert_eq!(rig.call("GET", handshake, "").await.0, 200);
        let body = json!([event("e1", "sap.b1.Orders.Created.v1", json!({"DocEntry": "91"}))]).to_string();
        let as_sha256 = json!({"x-b1-webhook-signature": test_key().sign(body.as_bytes())});
        assert_eq!(rig.call("POST", as_sha256, &body).await.0, 401);
        let as_sha512 = json!({"x-b1-webhook-signature": sha512.sign(body.as_bytes())});
        assert_eq!(rig.call("POST", as_sha512, &body).await, (200, r#"{"enqueued":1,"ignored":0}"#.into()));

        rig.secrets = EmbeddedSecrets::new().with("b1", &format!(r#"{{"Key": "{KEY}", "Algorithm": "HMACSha1"}}"#));
        let refused = rig.webhook().signing_key().await.expect_err("HMACSha1 is not offered by SAP").to_string();
        assert!(refused.contains("HMACSha256, HMACSha384 or HMACSha512") && !refused.contains(KEY), "{refused}");
    }

    fn signed(body: &str) -> Value {
        json!({"content-type": "application/json", "x-b1-webhook-signature": test_key().sign(body.as_bytes())})
    }

    #[tokio::test]
    async fn the_handshake_echoes_a_signed_token_and_head_answers_empty() {
        let rig = Rig::new();
        let token = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let headers = json!({"x-b1-webhook-token": token, "x-b1-webhook-signature": test_key().sign(token.as_bytes())});
        assert_eq!(rig.call("GET", headers, "").await, (200, format!(r#"{{"Challenge":"{token}"}}"#)));
        assert_eq!(rig.call("HEAD", json!({}), "").await, (200, String::new()));

        let unsigned = rig.call("GET", json!({"x-b1-webhook-token": token}), "").await;
        assert_eq!(unsigned.0, 401);
        let wrong = json!({"x-b1-webhook-token": token, "x-b1-webhook-signature": other_key().sign(token.as_bytes())});
        assert_eq!(rig.call("GET", wrong, "").await.0, 401);
        let odd = json!({"x-b1-webhook-token": "<script>", "x-b1-webhook-signature": test_key().sign(b"<script>")});
        assert_eq!(rig.call("GET", odd, "").await.0, 400);
        assert_eq!(rig.audit.all().len(), 3, "the refused handshakes are audited");
        assert_eq!(rig.call("GET", json!({}), "").await.0, 400);
        assert_eq!(rig.call("DELETE", json!({}), "").await.0, 405);
        assert_eq!(rig.audit.all().len(), 3, "a GET without the token is not the Messenger: not audited");
        assert!(rig.queue.is_empty());
    }

    #[tokio::test]
    async fn a_signed_delivery_is_enqueued_and_answered_with_counts() {
        let rig = Rig::new();
        let body = json!([
            event("e1", "sap.b1.Orders.Created.v1", json!({"DocEntry": "91"})),
            event("e2", "sap.b1.PurchaseOrders.Created.v1", json!({"DocEntry": "4"})),
        ])
        .to_string();
        assert_eq!(rig.call("POST", signed(&body), &body).await, (200, r#"{"enqueued":1,"ignored":1}"#.into()));
        let queued = Notification::from_body(&rig.queue.messages()[0]).unwrap();
        assert_eq!(queued.record.to_string(), "sap:Orders:91");
        assert!(rig.audit.all().is_empty());

        let base64 = json!({"version": "2.0", "headers": signed(&body), "isBase64Encoded": true,
            "body": base64::engine::general_purpose::STANDARD.encode(&body),
            "requestContext": {"requestId": "req-2", "http": {"method": "POST"}}});
        assert_eq!(rig.webhook().handle(&base64).await["statusCode"], 200, "verified over the decoded bytes");
        assert_eq!(rig.queue.len(), 1, "the redelivery was deduplicated");
    }

    #[tokio::test]
    async fn refused_deliveries_enqueue_nothing_and_are_audited_without_the_body_or_key() {
        let rig = Rig::new();
        let good = json!([event("body-marker-1", "sap.b1.Orders.Created.v1", json!({"DocEntry": "91"}))]).to_string();
        let half_bad = json!([
            event("body-marker-1", "sap.b1.Orders.Created.v1", json!({"DocEntry": "91"})),
            event("body-marker-2", "sap.b1.Invoices.Created.v1", json!({})),
        ])
        .to_string();
        let oversize = format!("[{}]", " ".repeat(MAX_BODY_BYTES));
        let cases = [
            (json!({}), good.clone(), 401, "MISSING_SIGNATURE"),
            (json!({"x-b1-webhook-signature": other_key().sign(good.as_bytes())}), good.clone(), 401, "BAD_SIGNATURE"),
            (signed(&good), format!("{good} "), 401, "BAD_SIGNATURE"),
            (signed(&half_bad), half_bad.clone(), 400, "BAD_EVENT"),
            (signed("{}"), "{}".into(), 400, "BAD_BODY"),
            (signed(&oversize), oversize.clone(), 413, "BODY_TOO_LARGE"),
        ];
        for (headers, body, status, code) in cases {
            let (answered, text) = rig.call("POST", headers, &body).await;
            assert_eq!(answered, status, "{code}: {text}");
            assert!(text.contains(code), "{text}");
        }
        assert!(rig.queue.is_empty());
        let audit = rig.audit.all();
        assert_eq!(audit.len(), 6);
        for entry in &audit {
            assert_eq!((entry.record_key.as_str(), entry.outcome), ("sap:rejected:req-1", Outcome::Rejected));
            assert_eq!(entry.direction, Direction::SapToSf);
            let stored = serde_json::to_string(entry).unwrap();
            assert!(!stored.contains(KEY) && !stored.contains("body-marker"), "{stored}");
        }
        assert_eq!(audit[5].payload_digest, None, "an oversized body is not hashed");
        assert_eq!(audit[3].payload_digest.as_deref(), Some(digest(half_bad.as_bytes()).as_str()));
    }

    /// Fails every send, as SQS does when throttled or down.
    struct BrokenQueue;

    #[async_trait::async_trait]
    impl Queue for BrokenQueue {
        async fn send(&self, _: &[OutgoingMessage]) -> Result<()> {
            Err(Error::Store { service: "sqs", message: "unavailable".into(), retryable: true })
        }
        async fn receive(&self, _: usize) -> Result<Vec<crate::ports::ReceivedMessage>> {
            Ok(vec![])
        }
        async fn delete(&self, _: &str) -> Result<()> {
            Ok(())
        }
        async fn release(&self, _: &str, _: u32) -> Result<()> {
            Ok(())
        }
        async fn depth(&self) -> Result<u64> {
            Ok(0)
        }
    }

    #[tokio::test]
    async fn a_queue_or_secret_failure_is_a_500_so_the_messenger_retries() {
        let rig = Rig::new();
        let body = ORDER.to_string();
        let request = json!({"headers": signed(&body), "body": body, "requestContext": {"requestId": "r", "http": {"method": "POST"}}});
        let broken = B1Webhook { to_salesforce: &BrokenQueue, ..rig.webhook() };
        let response = broken.handle(&request).await;
        assert_eq!(response["statusCode"], 500);
        assert!(!response["body"].as_str().unwrap().contains("unavailable"), "internals stay in the log");
        let no_secret = B1Webhook { secret_id: "missing", ..rig.webhook() };
        assert_eq!(no_secret.handle(&request).await["statusCode"], 500);
        assert!(rig.audit.all().is_empty(), "our failures are not the sender's rejections");
    }
}
