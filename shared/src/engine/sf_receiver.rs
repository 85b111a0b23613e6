//! sf-receiver: every delivery path becomes the same notifications on `to-sap.fifo`.
//!
//! - CDC through EventBridge (Event Relay or AppFlow): [`Receiver::receive`].
//! - The Function URL: `POST /webhook` (signed Flow/Apex callouts, [`crate::ingress::salesforce_webhook`]) and
//!   `POST /outbound-message` (SOAP Outbound Messages, [`crate::ingress::outbound_message`]): [`Ingress::handle_http`].
//! - [`Ingress::handle`] tells the two event shapes apart for the Lambda.
//!
//! Thin by design: it never trusts the delivered field values, only which records changed and when.

use crate::domain::state::Direction;
use crate::domain::{Notification, SalesforceId, digest};
use crate::error::{Error, ErrorClass, Result};
use crate::ingress::cdc::{self, CdcAction};
use crate::ingress::function_url::{
    FunctionUrlRequest, HttpResponse, IngressTally, OncePerInterval, Refusal, Rejection, internal_error, printable,
};
use crate::ingress::{outbound_message, salesforce_webhook};
use crate::ports::AuditAction;
use crate::ports::{
    AuditEntry, AuditLog, Claim, Clock, IdempotencyStore, Outcome, OutgoingMessage, Queue, SecretStore, WriteLedger,
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tracing::Instrument;

/// What the receiver needs.
pub struct Receiver<'a> {
    pub to_sap: &'a dyn Queue,
    pub audit: &'a dyn AuditLog,
    pub clock: &'a dyn Clock,
    /// Our `Sforce-Call-Options` client tag.
    pub client_tag: &'a str,
    /// What our writers wrote: with it, an untagged event of only our fields and values is an echo
    /// and a tagged one naming other fields (a Flow in our transaction) is not. Without it, the tag
    /// alone decides.
    pub written: Option<&'a dyn WriteLedger>,
}

/// What one event led to.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReceiveReport {
    pub enqueued: usize,
    pub echoes_dropped: usize,
    pub ignored: usize,
}

impl From<&ReceiveReport> for IngressTally {
    fn from(report: &ReceiveReport) -> Self {
        let dropped = (report.echoes_dropped + report.ignored) as u64;
        Self::delivered(report.enqueued as u64 + dropped, report.enqueued as u64)
    }
}

impl Receiver<'_> {
    /// Parses, drops echoes, enqueues and audits. A malformed event is audited as rejected and
    /// returned as a permanent error; a queue failure is returned as retryable. Either way Lambda
    /// retries the asynchronous invocation twice and then puts the event in the function's on-failure
    /// destination (`b1force dlq redrive --queue receiver` runs it through here again): nothing is lost.
    pub async fn receive(&self, event: &Value) -> Result<ReceiveReport> {
        // The event id is the notifications' correlation id: every log line of this work carries it.
        let correlation_id = event.get("id").and_then(Value::as_str).map(printable).unwrap_or_default();
        let span = tracing::info_span!("sf_receiver", correlation_id = %correlation_id);
        self.receive_in_span(event).instrument(span).await
    }

    async fn receive_in_span(&self, event: &Value) -> Result<ReceiveReport> {
        let action = match cdc::parse(event, self.client_tag) {
            Ok(action) => self.judge_by_content(event, action).await?,
            Err(err) => {
                self.audit_rejection(event, &err).await?;
                return Err(err);
            }
        };
        match action {
            CdcAction::Notify(notes) => {
                self.enqueue(&notes).await?;
                Ok(ReceiveReport { enqueued: notes.len(), ..Default::default() })
            }
            CdcAction::Echo { entity, record_ids } => {
                tracing::debug!(%entity, records = record_ids.len(), "dropped echo of our own write");
                Ok(ReceiveReport { echoes_dropped: record_ids.len(), ..Default::default() })
            }
            CdcAction::Ignore { entity, change_type, record_ids } => {
                for id in &record_ids {
                    self.audit_plain(
                        &format!("sf:{entity}:{id}"),
                        event,
                        Outcome::Skipped,
                        Some(format!("{change_type} is not acted on")),
                    )
                    .await?;
                }
                Ok(ReceiveReport { ignored: record_ids.len(), ..Default::default() })
            }
        }
    }

    /// Refines the tag's verdict with what our writers remember writing (issue #12 item 8): an event
    /// is our echo when every record it names was written by us and it changes nothing else.
    async fn judge_by_content(&self, event: &Value, action: CdcAction) -> Result<CdcAction> {
        let Some(ledger) = self.written else { return Ok(action) };
        let content = cdc::change_content(event, self.client_tag)?;
        // Gaps and overflows carry no fields to judge: the tag's verdict (an overflow always resyncs).
        if !matches!(content.change_type.as_str(), "CREATE" | "UPDATE") {
            return Ok(action);
        }
        let keys: Vec<String> = match &action {
            CdcAction::Notify(notes) => notes.iter().map(|n| n.record.to_string()).collect(),
            CdcAction::Echo { entity, record_ids } => {
                record_ids.iter().filter_map(|id| cdc::record_key(entity, id).ok()).map(|key| key.to_string()).collect()
            }
            CdcAction::Ignore { .. } => return Ok(action),
        };
        let now = self.clock.now_millis();
        let mut own = !keys.is_empty();
        for key in &keys {
            let written = ledger.written(key, now).await?;
            own &= crate::domain::echo::is_own_write(&content.seen(), written.as_ref());
        }
        match action {
            CdcAction::Notify(notes) if own => {
                let entity = notes.first().map(|n| n.record.object.clone()).unwrap_or_default();
                let record_ids = notes.into_iter().map(|n| n.record.id).collect();
                Ok(CdcAction::Echo { entity, record_ids })
            }
            CdcAction::Echo { entity, .. } if !own => {
                tracing::info!(%entity, "our tagged change also changed fields we did not write; processing it");
                cdc::parse_ignoring_origin(event)
            }
            other => Ok(other),
        }
    }

    async fn enqueue(&self, notes: &[Notification]) -> Result<()> {
        let messages: Vec<OutgoingMessage> = notes.iter().map(OutgoingMessage::from).collect();
        self.to_sap.send(&messages).await?;
        for n in notes {
            let entry = AuditEntry {
                record_key: n.record.to_string(),
                at: self.clock.now_millis(),
                correlation_id: n.correlation_id.clone(),
                direction: Direction::SfToSap,
                action: AuditAction::Receive,
                outcome: Outcome::Succeeded,
                source_version: Some(n.source_version.clone()),
                payload_digest: Some(digest(n.to_body().as_bytes())),
                error_code: None,
                error_class: None,
                error: None,
                target_id: None,
            };
            self.audit.record(&entry).await?;
        }
        Ok(())
    }

    async fn audit_rejection(&self, event: &Value, err: &Error) -> Result<()> {
        let key = rejected_record_key(event);
        let mut entry = self.event_entry(&key, event, Outcome::Rejected);
        entry.error_code = Some(err.code());
        entry.error_class = Some(err.class());
        entry.error = Some(err.to_string());
        tracing::warn!(record = %key, error = %err, "rejected event");
        self.audit.record(&entry).await
    }

    async fn audit_plain(&self, key: &str, event: &Value, outcome: Outcome, note: Option<String>) -> Result<()> {
        let mut entry = self.event_entry(key, event, outcome);
        entry.error = note;
        self.audit.record(&entry).await
    }

    fn event_entry(&self, key: &str, event: &Value, outcome: Outcome) -> AuditEntry {
        let correlation_id = event.get("id").and_then(Value::as_str).unwrap_or("none").chars().take(64).collect();
        self.entry(key, correlation_id, Some(digest(event.to_string().as_bytes())), outcome)
    }

    fn entry(&self, key: &str, correlation_id: String, payload_digest: Option<String>, outcome: Outcome) -> AuditEntry {
        AuditEntry {
            record_key: key.to_string(),
            at: self.clock.now_millis(),
            correlation_id,
            direction: Direction::SfToSap,
            action: AuditAction::Receive,
            outcome,
            source_version: None,
            payload_digest,
            error_code: None,
            error_class: None,
            error: None,
            target_id: None,
        }
    }
}

/// Where a rejected event is filed: its first record id when one can be read, else `sf:rejected:<event id>`.
fn rejected_record_key(event: &Value) -> String {
    let detail = event.get("detail");
    let header =
        detail.and_then(|d| d.get("payload")).unwrap_or(detail.unwrap_or(&Value::Null)).get("ChangeEventHeader");
    let safe = |s: &str| {
        s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').take(64).collect::<String>()
    };
    let entity = header.and_then(|h| h.get("entityName")).and_then(Value::as_str).map(safe).filter(|s| !s.is_empty());
    let id = header
        .and_then(|h| h.get("recordIds"))
        .and_then(|r| r.get(0))
        .and_then(Value::as_str)
        .map(safe)
        .filter(|s| !s.is_empty());
    match (entity, id) {
        (Some(entity), Some(id)) => format!("sf:{entity}:{id}"),
        _ => format!(
            "sf:rejected:{}",
            event.get("id").and_then(Value::as_str).map(safe).unwrap_or_else(|| "unknown".into())
        ),
    }
}

/// Every delivery path into sf-receiver: EventBridge CDC events and the Function URL's HTTP paths.
pub struct Ingress<'a> {
    /// Parses CDC, enqueues and audits; the HTTP paths enqueue through it too.
    pub receiver: Receiver<'a>,
    /// `/webhook` is enabled only with a key and a replay guard.
    pub webhook: Option<WebhookAuth<'a>>,
    /// When set, Outbound Messages from any other org are refused.
    pub org_id: Option<&'a SalesforceId>,
    /// When set, `/outbound-message` requires `?token=<the secret's value>` (Outbound Messages are not signed).
    pub outbound_token: Option<OutboundToken<'a>>,
    /// Which requests refused before authentication are audited (a sample); `None`: every one.
    pub refusals: Option<&'a OncePerInterval>,
}

/// The shared token an Outbound Message endpoint URL carries in its query string.
pub struct OutboundToken<'a> {
    pub secrets: &'a dyn SecretStore,
    /// The secret's name (`OUTBOUND_TOKEN_SECRET_ID`); its whole string value is the token.
    pub secret_id: &'a str,
}

/// What `/webhook` needs to authenticate requests.
pub struct WebhookAuth<'a> {
    /// Holds the HMAC key.
    pub secrets: &'a dyn SecretStore,
    /// The secret's name (`WEBHOOK_SECRET_ID`); its whole string value is the key.
    pub secret_id: &'a str,
    /// Claims each signature once, so a captured request cannot be replayed.
    pub replays: &'a dyn IdempotencyStore,
}

/// How long a webhook's replay claim stays INPROGRESS if this invocation dies before finishing it.
const REPLAY_CLAIM_LEASE_MS: i64 = 30_000;

impl Ingress<'_> {
    /// Handles any event sf-receiver gets: a Function URL request (has `requestContext.http`) is
    /// answered with the Function URL response JSON; anything else is an EventBridge CDC event,
    /// whose errors are returned so EventBridge retries or dead-letters it.
    pub async fn handle(&self, event: &Value) -> Result<Value> {
        self.handle_tallied(event).await.0
    }

    /// [`Ingress::handle`], with what the event or request amounted to.
    pub async fn handle_tallied(&self, event: &Value) -> (Result<Value>, IngressTally) {
        if let Some(request) = FunctionUrlRequest::parse(event) {
            let (response, tally) = self.serve(&request).await;
            return (Ok(response.to_function_url()), tally);
        }
        match self.receiver.receive(event).await {
            Ok(report) => {
                let tally = IngressTally::from(&report);
                (Ok(json!(report)), tally)
            }
            Err(err) => {
                let tally = IngressTally::failed(err.class());
                (Err(err), tally)
            }
        }
    }

    /// Answers one Function URL request; every outcome is a status code, never an error.
    pub async fn handle_http(&self, request: &Value) -> HttpResponse {
        self.handle_http_tallied(request).await.0
    }

    /// [`Ingress::handle_http`], with what the request amounted to.
    pub async fn handle_http_tallied(&self, request: &Value) -> (HttpResponse, IngressTally) {
        self.serve(&FunctionUrlRequest::from_event(request)).await
    }

    async fn serve(&self, request: &FunctionUrlRequest) -> (HttpResponse, IngressTally) {
        let request_id = &request.request_id;
        let path = request.path.as_str();
        let span = tracing::info_span!("sf_receiver_http", path = %printable(path), request_id = %request_id);
        async {
            let outcome = match path {
                "/webhook" => self.webhook(request).await,
                "/outbound-message" => self.outbound_message(request).await,
                _ => {
                    // Not audited: scanners probing the URL would fill the audit table.
                    tracing::info!("no such path");
                    let response = HttpResponse::from(&Rejection::new(
                        404,
                        "NOT_FOUND",
                        "no such path; POST to /webhook or /outbound-message",
                    ));
                    return (response, IngressTally::default());
                }
            };
            match outcome {
                Ok((response, enqueued)) => (response, IngressTally::delivered(enqueued, enqueued)),
                Err(Refusal::Rejected(rejection)) => {
                    // Anyone on the internet can send these: counted in metrics, audited as a sample.
                    let now = self.receiver.clock.now_millis();
                    if self.refusals.is_none_or(|sample| sample.take(now)) {
                        self.audit_http_rejection(request, &rejection).await;
                    } else {
                        tracing::info!(
                            status = rejection.status,
                            code = rejection.code,
                            "refused (not sampled for audit)"
                        );
                    }
                    (HttpResponse::from(&rejection), IngressTally::refused())
                }
                Err(Refusal::Invalid(rejection)) => {
                    self.audit_http_rejection(request, &rejection).await;
                    (HttpResponse::from(&rejection), IngressTally::failed(ErrorClass::Permanent))
                }
                Err(Refusal::Failed(err)) => (internal_error(&err), IngressTally::failed(err.class())),
            }
        }
        .instrument(span)
        .await
    }

    /// `POST /webhook`: size, signature, timestamp, body, replay claim, then enqueue (202); with the
    /// number of notifications enqueued.
    async fn webhook(&self, request: &FunctionUrlRequest) -> Result<(HttpResponse, u64), Refusal> {
        let Some(auth) = &self.webhook else {
            return Err(
                Rejection::new(404, "WEBHOOK_DISABLED", "the webhook is not enabled (no WEBHOOK_SECRET_ID)").into()
            );
        };
        request.require_post()?;
        request.require_content_type("json")?;
        let body = request.body(salesforce_webhook::MAX_BODY_BYTES)?;
        let key = auth.secrets.get(auth.secret_id).await.map_err(Refusal::Failed)?;
        if key.expose_secret().is_empty() {
            return Err(Refusal::Failed(Error::Config(format!("webhook secret {} is empty", auth.secret_id))));
        }
        let now = self.receiver.clock.now_millis();
        let verified = salesforce_webhook::verify(
            key.expose_secret().as_bytes(),
            request.header(salesforce_webhook::TIMESTAMP_HEADER),
            request.header(salesforce_webhook::SIGNATURE_HEADER),
            &body,
            now,
        )?;
        // Signed with our key from here on: what is refused now is audited in full.
        let notes = salesforce_webhook::parse_body(&body)
            .map_err(Refusal::Invalid)?
            .notifications(&verified, &request.request_id);
        let replayed = || Rejection::new(401, "REPLAYED", "this signed request was received before; sign it again");
        match auth.replays.claim(&verified.replay_key, &digest(&body), now, now + REPLAY_CLAIM_LEASE_MS).await {
            Ok(Claim::Acquired) => {}
            Ok(Claim::Completed(_)) | Err(Error::InProgress(_) | Error::PayloadMismatch(_)) => {
                return Err(Refusal::Invalid(replayed()));
            }
            Err(err) => return Err(Refusal::Failed(err)),
        }
        if let Err(err) = self.receiver.enqueue(&notes).await {
            // Nothing was accepted: let the sender's retry of this same signed request through.
            if let Err(release) = auth.replays.release(&verified.replay_key).await {
                tracing::warn!(error = %release, "could not release the replay claim; it lapses with its lease");
            }
            return Err(Refusal::Failed(err));
        }
        if let Err(err) =
            auth.replays.complete(&verified.replay_key, "enqueued", verified.replay_protected_until()).await
        {
            // The notifications are queued, so this is still a success; a replay after the lease
            // only re-sends notifications that deduplicate.
            tracing::warn!(error = %err, "could not complete the replay claim");
        }
        Ok((HttpResponse::json(202, json!({"enqueued": notes.len()})), notes.len() as u64))
    }

    /// `POST /outbound-message`: size, safe XML parse, org check, enqueue, and only then the Ack; with
    /// the number of notifications enqueued.
    async fn outbound_message(&self, request: &FunctionUrlRequest) -> Result<(HttpResponse, u64), Refusal> {
        request.require_post()?;
        request.require_content_type("xml")?;
        let body = request.body(outbound_message::MAX_BODY_BYTES)?;
        if let Some(token) = &self.outbound_token {
            let expected = token.secrets.get(token.secret_id).await.map_err(Refusal::Failed)?;
            let given =
                url::form_urlencoded::parse(request.query.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v);
            // Digests of equal length compare in time independent of where the token differs.
            let matches = given.is_some_and(|g| digest(g.as_bytes()) == digest(expected.expose_secret().as_bytes()));
            if !matches {
                return Err(Rejection::new(401, "BAD_TOKEN", "the endpoint URL's token is missing or wrong").into());
            }
        }
        // With a token checked, the sender is known: later refusals are audited in full.
        let known = |rejection| match self.outbound_token {
            Some(_) => Refusal::Invalid(rejection),
            None => Refusal::Rejected(rejection),
        };
        let message = outbound_message::parse(&body).map_err(known)?;
        if let Some(expected) = self.org_id {
            outbound_message::check_org(&message, expected).map_err(known)?;
        }
        let notes = message.notifications(&request.request_id);
        // Salesforce retries anything but the Ack, so a failed enqueue loses nothing.
        self.receiver.enqueue(&notes).await.map_err(Refusal::Failed)?;
        let ack = HttpResponse { status: 200, content_type: "text/xml", body: outbound_message::ACK.to_string() };
        Ok((ack, notes.len() as u64))
    }

    async fn audit_http_rejection(&self, request: &FunctionUrlRequest, rejection: &Rejection) {
        let (path, request_id) = (&request.path, &request.request_id);
        tracing::warn!(status = rejection.status, code = rejection.code, reason = %rejection.message, "rejected request");
        // A digest identifies the body without storing it; an oversized one is not even hashed.
        let body_digest = (rejection.status != 413).then(|| digest(request.body_as_sent().as_bytes()));
        let mut entry = self.receiver.entry(
            &format!("sf:rejected:{request_id}"),
            request_id.to_string(),
            body_digest,
            Outcome::Rejected,
        );
        entry.error_code = Some(rejection.code.to_string());
        entry.error_class = Some(ErrorClass::Permanent);
        entry.error = Some(format!("POST {path}: {}", rejection.message));
        if let Err(err) = self.receiver.audit.record(&entry).await {
            tracing::error!(error = %err, "could not audit the rejection");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    fn request(body: &str, base64: bool) -> Value {
        json!({"rawPath": "/webhook", "body": body, "isBase64Encoded": base64,
               "headers": {"Content-Type": "application/json"},
               "requestContext": {"requestId": "r-1 <script>", "http": {"method": "POST"}}})
    }

    #[tokio::test]
    async fn a_base64_encoded_webhook_is_verified_over_its_decoded_bytes() {
        use crate::embedded::{
            EmbeddedAudit, EmbeddedIdempotency, EmbeddedQueue, EmbeddedQueueOptions, EmbeddedSecrets, ManualClock,
        };
        let now = 1_795_600_800_000;
        let clock = std::sync::Arc::new(ManualClock::new(now));
        let options = EmbeddedQueueOptions { visibility_timeout_secs: 30, max_receive_count: None, dead_letter: None };
        let (queue, audit) = (EmbeddedQueue::new("to-sap.fifo", options, clock.clone()), EmbeddedAudit::new());
        let (secrets, replays) = (EmbeddedSecrets::new().with("hook", "k3y"), EmbeddedIdempotency::new());
        let ingress = Ingress {
            receiver: Receiver {
                to_sap: &queue,
                audit: &audit,
                clock: clock.as_ref(),
                client_tag: "b1force",
                written: None,
            },
            webhook: Some(WebhookAuth { secrets: &secrets, secret_id: "hook", replays: &replays }),
            org_id: None,
            outbound_token: None,
            refusals: None,
        };
        let body = r#"{"object":"Case","recordIds":["500SB00000001IJYAY"]}"#;
        let mut event = request(&STANDARD.encode(body), true);
        event["headers"] = json!({"x-b1force-timestamp": "1795600800",
            "x-b1force-signature": salesforce_webhook::sign(b"k3y", "1795600800", body.as_bytes())});
        let response = ingress.handle(&event).await.unwrap();
        assert_eq!(
            (response["statusCode"].as_u64(), response["body"].as_str()),
            (Some(202), Some(r#"{"enqueued":1}"#))
        );
        event["headers"]["x-b1force-signature"] =
            json!(salesforce_webhook::sign(b"k3y", "1795600800", STANDARD.encode(body).as_bytes()));
        assert_eq!(ingress.handle(&event).await.unwrap()["statusCode"], 401, "the encoded form is not what was signed");
        assert_eq!(queue.len(), 1);
    }

    /// A 10 MB record id, a 300 KB sequenceNumber, an oversized transactionKey or event id: each
    /// event is refused with a short reason, nothing is enqueued, and the audit item stays small
    /// (#13 item 10). A DELETE naming a huge id (audited per id when acted on) is refused the same way.
    #[tokio::test]
    async fn oversized_cdc_fields_are_refused_and_never_copied_into_audit_items_or_queue_attributes() {
        use crate::embedded::{EmbeddedAudit, EmbeddedQueue, EmbeddedQueueOptions, ManualClock};
        let clock = std::sync::Arc::new(ManualClock::new(1_795_600_800_000));
        let options = EmbeddedQueueOptions { visibility_timeout_secs: 30, max_receive_count: None, dead_letter: None };
        let (queue, audit) = (EmbeddedQueue::new("to-sap.fifo", options, clock.clone()), EmbeddedAudit::new());
        let receiver =
            Receiver { to_sap: &queue, audit: &audit, clock: clock.as_ref(), client_tag: "b1force", written: None };
        let event = |header: Value, id: &str| {
            let mut header_with = json!({"entityName": "Opportunity", "changeType": "UPDATE",
                "recordIds": ["006SB00000001GHYAY"], "transactionKey": "0002f1a3-4b5c", "sequenceNumber": 1,
                "commitTimestamp": 1_795_600_800_000_i64, "changeOrigin": "", "changedFields": ["StageName"]});
            for (k, v) in header.as_object().unwrap() {
                header_with[k] = v.clone();
            }
            json!({"id": id, "detail": {"payload": {"ChangeEventHeader": header_with}}})
        };
        let huge_id = "0".repeat(10 * 1024 * 1024);
        let cases = [
            (event(json!({"recordIds": [huge_id.clone()]}), "e1"), "recordIds"),
            (event(json!({"changeType": "DELETE", "recordIds": [huge_id.clone()]}), "e2"), "recordIds"),
            (event(json!({"sequenceNumber": "9".repeat(300 * 1024)}), "e3"), "sequenceNumber"),
            (event(json!({"transactionKey": "t".repeat(300 * 1024)}), "e4"), "transactionKey"),
            (event(json!({}), &"e".repeat(300 * 1024)), "event id"),
        ];
        for (event, field) in cases {
            let err = receiver.receive(&event).await.unwrap_err();
            assert!(matches!(err, Error::Invalid(_)) && err.to_string().contains(field), "{field}: {err}");
            assert!(err.to_string().len() < 200, "the reason never quotes the value");
        }
        assert!(queue.is_empty());
        let entries = audit.all();
        assert_eq!(entries.len(), 5, "each refusal is audited");
        for entry in entries {
            let size = serde_json::to_string(&entry).unwrap().len();
            assert!(size < 1024, "an audit item of {size} bytes: {entry:?}");
            assert_eq!(entry.outcome, Outcome::Rejected);
        }
        // The same event with sane fields is enqueued.
        assert_eq!(receiver.receive(&event(json!({}), "e6")).await.unwrap().enqueued, 1);
    }
}
