//! The `b1force` command line: demo, invoke, sandbox, check and setup. Operator commands (dlq,
//! replay, audit) come with issues #5 and #6.
#![forbid(unsafe_code)]

pub mod check;
pub mod demo;
pub mod invoke;
pub mod local;
pub mod sandbox_cmd;
pub mod setup;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// B1Force: SAP Business One ⇄ Salesforce, serverless.
#[derive(Debug, Parser)]
#[command(name = "b1force", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline in one process on embedded backends and built-in sandboxes.
    Demo {
        /// Print one JSON object instead of a human summary.
        #[arg(long)]
        json: bool,
        /// How many Closed Won opportunities to create and sync.
        #[arg(long, default_value_t = 25)]
        opportunities: usize,
        /// How many times each CDC event is delivered (at-least-once delivery).
        #[arg(long, default_value_t = 2)]
        deliveries: usize,
    },
    /// Run one Lambda handler locally on an event file and print its result.
    Invoke {
        /// `sf-receiver`, `sap-writer`, `sap-poller`, `sf-writer` or `sap-webhook`.
        function: String,
        /// The event JSON (see events/).
        #[arg(long)]
        event: PathBuf,
    },
    /// Validate a mapping file (the shipped defaults when no file is given); exits non-zero with FILE:LINE:COL reasons.
    Check {
        #[arg(long)]
        mapping: Option<PathBuf>,
    },
    /// Create what the sync needs in a system, idempotently; `sap`: the user-defined fields, through the
    /// Service Layer named by SAP_URL (an in-process sandbox when no SAP_* setting is present).
    Setup {
        target: setup::Target,
        /// Print what would be created and create nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Serve the SAP and Salesforce sandboxes on 127.0.0.1 until killed.
    Sandbox {
        #[arg(long, default_value_t = 50000)]
        sap_port: u16,
        #[arg(long, default_value_t = 8443)]
        sf_port: u16,
    },
}

/// Runs a parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo { json, opportunities, deliveries } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            let report = demo::run(demo::DemoOptions { opportunities, deliveries }).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.human());
            }
            Ok(())
        }
        Command::Invoke { function, event } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "info");
            let output = invoke::run(&function, &event).await?;
            println!("{}", serde_json::to_string_pretty(&output)?);
            Ok(())
        }
        Command::Check { mapping } => {
            println!("{}", check::run_mapping(mapping.as_deref())?);
            Ok(())
        }
        Command::Setup { target: setup::Target::Sap, dry_run } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "warn");
            setup::run_sap(&shared::config::Env, dry_run, &mut std::io::stdout()).await.map(|_| ())
        }
        Command::Sandbox { sap_port, sf_port } => {
            shared::telemetry::init(shared::telemetry::LogFormat::Text, "info");
            sandbox_cmd::run(sap_port, sf_port).await
        }
    }
}
