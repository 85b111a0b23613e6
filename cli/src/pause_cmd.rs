//! `b1force pause` / `resume` on AWS: the schedules `<B1FORCE_STACK>-…` (EventBridge Scheduler,
//! default group) and the Lambda event source mappings of `TO_SAP_QUEUE_URL` and
//! `SF_WRITER_WAKE_QUEUE_URL`; audited in `AUDIT_TABLE`. IAM: scheduler:GetSchedule,
//! scheduler:UpdateSchedule (and iam:PassRole on the schedules' role), lambda:ListEventSourceMappings,
//! lambda:UpdateEventSourceMapping, sqs:GetQueueAttributes, dynamodb:PutItem on the audit table.

use crate::operations::pause::{self, Operator, SCHEDULE_SUFFIXES, Switched, Trigger, TriggerKind, Triggers};
use crate::ops;
use async_trait::async_trait;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleError;
use shared::config::Source;
use shared::error::{Error, Result};
use shared::ports::SystemClock;
use std::io::Write;

/// The stack's schedules and mappings on AWS.
pub struct AwsTriggers {
    scheduler: aws_sdk_scheduler::Client,
    lambda: aws_sdk_lambda::Client,
    sqs: aws_sdk_sqs::Client,
    stack: String,
    /// (label, queue URL) of each queue whose mappings are triggers.
    queues: Vec<(&'static str, String)>,
}

fn failed(service: &'static str, operation: &str, err: impl std::fmt::Display) -> Error {
    Error::Store { service, message: format!("{operation}: {err}"), retryable: false }
}

impl AwsTriggers {
    /// `B1FORCE_STACK` (the stack name), `TO_SAP_QUEUE_URL`, `SF_WRITER_WAKE_QUEUE_URL`.
    pub fn from_settings(sdk: &aws_config::SdkConfig, src: &dyn Source) -> anyhow::Result<Self> {
        let stack = ops::required(src, "B1FORCE_STACK", "the stack's name (its schedules are <stack>-poll-items, …)")?;
        let queues = vec![
            ("to-sap → sap-writer", ops::required(src, "TO_SAP_QUEUE_URL", "the stack's ToSapQueueUrl output")?),
            (
                "wake → sf-writer",
                ops::required(src, "SF_WRITER_WAKE_QUEUE_URL", "the stack's SfWriterWakeQueueUrl output")?,
            ),
        ];
        Ok(Self {
            scheduler: aws_sdk_scheduler::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            stack,
            queues,
        })
    }

    async fn schedule(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput>> {
        match self.scheduler.get_schedule().name(name).send().await {
            Ok(schedule) => Ok(Some(schedule)),
            Err(err) if matches!(err.as_service_error(), Some(GetScheduleError::ResourceNotFoundException(_))) => {
                Ok(None)
            }
            Err(err) => Err(failed("Scheduler", "GetSchedule", aws_sdk_scheduler::error::DisplayErrorContext(err))),
        }
    }

    async fn queue_arn(&self, url: &str) -> Result<String> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let output = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| failed("SQS", "GetQueueAttributes", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        output
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| failed("SQS", "GetQueueAttributes", format!("{url} has no QueueArn")))
    }
}

#[async_trait]
impl Triggers for AwsTriggers {
    async fn list(&self) -> Result<Vec<Trigger>> {
        let mut triggers = Vec::new();
        for suffix in SCHEDULE_SUFFIXES {
            let name = format!("{}-{suffix}", self.stack);
            if let Some(schedule) = self.schedule(&name).await? {
                let enabled = schedule.state() != Some(&aws_sdk_scheduler::types::ScheduleState::Disabled);
                triggers.push(Trigger { kind: TriggerKind::Schedule, id: name.clone(), name, enabled });
            }
        }
        for (label, url) in &self.queues {
            let arn = self.queue_arn(url).await?;
            let mappings =
                self.lambda.list_event_source_mappings().event_source_arn(&arn).send().await.map_err(|e| {
                    failed("Lambda", "ListEventSourceMappings", aws_sdk_lambda::error::DisplayErrorContext(e))
                })?;
            for mapping in mappings.event_source_mappings() {
                let enabled = !matches!(mapping.state(), Some("Disabled" | "Disabling"));
                triggers.push(Trigger {
                    kind: TriggerKind::EventSourceMapping,
                    name: label.to_string(),
                    id: mapping.uuid().unwrap_or_default().to_string(),
                    enabled,
                });
            }
        }
        Ok(triggers)
    }

    async fn set(&self, trigger: &Trigger, enabled: bool) -> Result<()> {
        match trigger.kind {
            TriggerKind::EventSourceMapping => {
                self.lambda.update_event_source_mapping().uuid(&trigger.id).enabled(enabled).send().await.map_err(
                    |e| failed("Lambda", "UpdateEventSourceMapping", aws_sdk_lambda::error::DisplayErrorContext(e)),
                )?;
            }
            TriggerKind::Schedule => {
                use aws_sdk_scheduler::types::ScheduleState;
                // UpdateSchedule replaces the whole definition: everything is copied from GetSchedule.
                let Some(s) = self.schedule(&trigger.id).await? else {
                    return Err(failed("Scheduler", "UpdateSchedule", format!("{} is gone", trigger.id)));
                };
                self.scheduler
                    .update_schedule()
                    .name(&trigger.id)
                    .set_group_name(s.group_name)
                    .set_schedule_expression(s.schedule_expression)
                    .set_schedule_expression_timezone(s.schedule_expression_timezone)
                    .set_flexible_time_window(s.flexible_time_window)
                    .set_target(s.target)
                    .set_description(s.description)
                    .set_start_date(s.start_date)
                    .set_end_date(s.end_date)
                    .set_kms_key_arn(s.kms_key_arn)
                    .set_action_after_completion(s.action_after_completion)
                    .state(if enabled { ScheduleState::Enabled } else { ScheduleState::Disabled })
                    .send()
                    .await
                    .map_err(|e| {
                        failed("Scheduler", "UpdateSchedule", aws_sdk_scheduler::error::DisplayErrorContext(e))
                    })?;
            }
        }
        Ok(())
    }
}

/// Pauses (`enabled` false) or resumes the stack and prints what changed.
pub async fn run_on_aws(enabled: bool, reason: &str, src: &dyn Source, out: &mut dyn Write) -> anyhow::Result<()> {
    let sdk = shared::aws::sdk_config().await;
    let triggers = AwsTriggers::from_settings(&sdk, src)?;
    let audit = ops::audit_table(src).await?;
    let by = src.var("B1FORCE_OPERATOR").or_else(|| src.var("USER")).unwrap_or_else(|| "operator".into());
    let operator = Operator { by: &by, reason };
    let switched: Switched = pause::switch(&triggers, &audit, &SystemClock, enabled, &operator).await?;
    let verb = if enabled { "resumed" } else { "paused" };
    writeln!(out, "{verb}: {} changed, {} already {verb}", switched.changed.len(), switched.already)?;
    for name in &switched.changed {
        writeln!(out, "  {name}")?;
    }
    writeln!(out, "now: {}", pause::describe(&switched.now))?;
    Ok(())
}
