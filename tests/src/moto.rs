//! moto_server on a free 127.0.0.1 port, one per test, killed on drop; plus the tables, queues and
//! secrets our AWS adapters expect, created the way the SAM template creates them.

use anyhow::{Context, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Attempts at finding a port nobody else grabs between our probe and moto's bind.
const START_ATTEMPTS: usize = 5;
/// moto imports a lot of Python; on a busy 2-core machine it can take several seconds.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running moto_server; the process is killed when this is dropped.
pub struct MotoServer {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
    /// Where moto's request recorder writes, once `start_recording` has turned it on.
    recording: tempfile::NamedTempFile,
}

impl MotoServer {
    /// Starts moto_server on a free port and waits until it answers HTTP.
    pub async fn start() -> anyhow::Result<MotoServer> {
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once().await {
                Ok(server) => return Ok(server),
                Err(StartError::NotInstalled(err)) => return Err(err),
                Err(StartError::Failed(err)) => last_error = Some(err),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("moto_server did not start")))
    }

    async fn start_once() -> Result<MotoServer, StartError> {
        let port = free_port().map_err(StartError::Failed)?;
        let log = tempfile::NamedTempFile::new().context("creating moto log file").map_err(StartError::Failed)?;
        let stderr = log.reopen().context("opening moto log file").map_err(StartError::Failed)?;
        let recording =
            tempfile::NamedTempFile::new().context("creating moto recording file").map_err(StartError::Failed)?;
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_RECORDER_FILEPATH", recording.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(StartError::NotInstalled(anyhow::anyhow!(
                    "moto_server is not on PATH; install it with `pip install 'moto[server]'`"
                )));
            }
            Err(err) => return Err(StartError::Failed(anyhow::Error::new(err).context("spawning moto_server"))),
        };
        // From here on, Drop kills the child whatever happens.
        let mut server = MotoServer { child, port, log, recording };
        server.wait_until_ready().await.map_err(StartError::Failed)?;
        Ok(server)
    }

    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("moto_server on port {} exited with {status} (port taken?):\n{}", self.port, self.log());
            }
            // Any HTTP answer means the server is serving; the path does not matter.
            if http.get(format!("{}/moto-api/", self.endpoint())).send().await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("moto_server on port {} did not answer within {READY_TIMEOUT:?}:\n{}", self.port, self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What moto_server has logged so far (each request, and Python tracebacks behind HTTP 500s).
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = self.log.reopen() {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// Turns on moto's request recorder (`/moto-api/recorder`): every AWS request from here on is
    /// kept, headers and body, until `take_recording`.
    pub async fn start_recording(&self) -> anyhow::Result<()> {
        self.recorder("reset-recording").await?;
        self.recorder("start-recording").await?;
        Ok(())
    }

    /// Stops the recorder and returns what it kept: one JSON object per line
    /// (`headers`, `method`, `url`, `body`, `body_encoded`), as moto writes them.
    pub async fn take_recording(&self) -> anyhow::Result<String> {
        self.recorder("stop-recording").await?;
        std::fs::read_to_string(self.recording.path()).context("reading moto's recording")
    }

    async fn recorder(&self, verb: &str) -> anyhow::Result<()> {
        let url = format!("{}/moto-api/recorder/{verb}", self.endpoint());
        let response = reqwest::Client::new().post(&url).send().await.with_context(|| format!("POST {url}"))?;
        anyhow::ensure!(response.status().is_success(), "POST {url}: {}", response.status());
        Ok(())
    }

    /// SDK configuration pointing at this server, region us-east-1, static test credentials;
    /// the process environment is read for nothing that matters and never written.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "moto-test"))
            .load()
            .await
    }

    /// An SQS client for this server.
    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }

    /// A DynamoDB client for this server.
    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }

    /// A Secrets Manager client for this server.
    pub async fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config().await)
    }

    /// Creates `<name>.fifo` (explicit dedup ids, visibility timeout 30 s) redriving to `<name>-dlq.fifo`
    /// after `max_receive_count` receives; returns (queue url, dlq url).
    pub async fn create_fifo_queue_with_dlq(
        &self,
        name: &str,
        max_receive_count: u32,
    ) -> anyhow::Result<(String, String)> {
        let sqs = self.sqs().await;
        let dlq_url = sqs
            .create_queue()
            .queue_name(format!("{name}-dlq.fifo"))
            .attributes(QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .context("creating the dead-letter queue")?
            .queue_url
            .context("CreateQueue returned no URL for the dead-letter queue")?;
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .context("reading the dead-letter queue's ARN")?
            .attributes
            .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
            .context("GetQueueAttributes returned no QueueArn")?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": max_receive_count.to_string(),
        });
        let url = sqs
            .create_queue()
            .queue_name(format!("{name}.fifo"))
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
            .attributes(QueueAttributeName::VisibilityTimeout, "30")
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .context("creating the FIFO queue")?
            .queue_url
            .context("CreateQueue returned no URL")?;
        Ok((url, dlq_url))
    }

    /// Creates the idempotency table: partition key `id` (S), on-demand, TTL on `expiration`.
    pub async fn create_idempotency_table(&self, name: &str) -> anyhow::Result<()> {
        let dynamodb = self.dynamodb().await;
        dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("id", ScalarAttributeType::S)?)
            .key_schema(key("id", KeyType::Hash)?)
            .send()
            .await
            .context("creating the idempotency table")?;
        enable_ttl(&dynamodb, name).await
    }

    /// Creates the audit table: partition `record_key` (S), sort `at_attempt` (S), GSI `by_outcome`
    /// (partition `outcome` S, sort `at` N, all attributes), on-demand, TTL on `expiration`.
    pub async fn create_audit_table(&self, name: &str) -> anyhow::Result<()> {
        let dynamodb = self.dynamodb().await;
        let by_outcome = GlobalSecondaryIndex::builder()
            .index_name("by_outcome")
            .key_schema(key("outcome", KeyType::Hash)?)
            .key_schema(key("at", KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()?;
        dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("record_key", ScalarAttributeType::S)?)
            .attribute_definitions(attribute("at_attempt", ScalarAttributeType::S)?)
            .attribute_definitions(attribute("outcome", ScalarAttributeType::S)?)
            .attribute_definitions(attribute("at", ScalarAttributeType::N)?)
            .key_schema(key("record_key", KeyType::Hash)?)
            .key_schema(key("at_attempt", KeyType::Range)?)
            .global_secondary_indexes(by_outcome)
            .send()
            .await
            .context("creating the audit table")?;
        enable_ttl(&dynamodb, name).await
    }

    /// Creates the sync-state table: partition key `pk` (S), sort key `sk` (S), on-demand, TTL on `expiration`.
    pub async fn create_sync_state_table(&self, name: &str) -> anyhow::Result<()> {
        let dynamodb = self.dynamodb().await;
        dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("pk", ScalarAttributeType::S)?)
            .attribute_definitions(attribute("sk", ScalarAttributeType::S)?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .send()
            .await
            .context("creating the sync-state table")?;
        enable_ttl(&dynamodb, name).await
    }

    /// Creates a secret with a string value.
    pub async fn create_secret(&self, name: &str, value: &str) -> anyhow::Result<()> {
        self.secrets_manager()
            .await
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .with_context(|| format!("creating secret {name}"))?;
        Ok(())
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum StartError {
    /// No point in retrying.
    NotInstalled(anyhow::Error),
    /// Maybe the port was taken in between; try another.
    Failed(anyhow::Error),
}

/// A port the OS just handed out; released at once, so moto can bind it (a race we retry on).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn attribute(name: &str, kind: ScalarAttributeType) -> anyhow::Result<AttributeDefinition> {
    Ok(AttributeDefinition::builder().attribute_name(name).attribute_type(kind).build()?)
}

fn key(name: &str, kind: KeyType) -> anyhow::Result<KeySchemaElement> {
    Ok(KeySchemaElement::builder().attribute_name(name).key_type(kind).build()?)
}

async fn enable_ttl(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> anyhow::Result<()> {
    dynamodb
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder().enabled(true).attribute_name("expiration").build()?,
        )
        .send()
        .await
        .with_context(|| format!("enabling TTL on {table}"))?;
    Ok(())
}

/// moto_server with the audit and sync-state tables and both secrets, the two sandboxes, and the
/// settings every function shares (tables, SAP and Salesforce with secrets by id); each test adds
/// its queues, buckets and topics.
pub struct Systems {
    pub moto: MotoServer,
    pub sap: sandbox::SapSandbox,
    pub sf: sandbox::SalesforceSandbox,
    pub settings: std::collections::HashMap<String, String>,
}

impl Systems {
    pub async fn start() -> anyhow::Result<Self> {
        use sandbox::{SalesforceOptions, SalesforceSandbox, SapOptions, SapSandbox};
        use serde_json::json;
        let moto = MotoServer::start().await?;
        moto.create_audit_table("b1force-audit").await?;
        moto.create_sync_state_table("b1force-sync-state").await?;
        let sap = SapSandbox::start(SapOptions::default()).await?;
        let sf = SalesforceSandbox::start(SalesforceOptions::default()).await?;
        moto.create_secret("b1force/sap", &json!({"password": sap.password()}).to_string()).await?;
        moto.create_secret("b1force/salesforce", &json!({"client_secret": sf.client_secret()}).to_string()).await?;
        let settings = [
            ("AUDIT_TABLE", "b1force-audit".to_string()),
            ("SYNC_STATE_TABLE", "b1force-sync-state".into()),
            ("SAP_URL", sap.base_url()),
            ("SAP_COMPANY_DB", sap.company_db().into()),
            ("SAP_USER", sap.user().into()),
            ("SAP_SECRET_ID", "b1force/sap".into()),
            ("SF_LOGIN_URL", sf.login_url()),
            ("SF_CLIENT_ID", sf.client_id().into()),
            ("SF_SECRET_ID", "b1force/salesforce".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Ok(Self { moto, sap, sf, settings })
    }
}
