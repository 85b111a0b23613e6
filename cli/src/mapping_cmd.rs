//! `b1force mapping push FILE` and `b1force mapping show`: the mapping file published in S3
//! (`MAPPING_S3_URI`, the stack's `MappingUri` output), which the functions read at cold start.

use clap::Subcommand;
use shared::aws::S3MappingStore;
use shared::config::{Source, required};
use shared::mapping::file::MappingFile;
use shared::wiring::MAPPING_VERSIONS_TRIED;
use std::io::Write;
use std::path::PathBuf;

/// `b1force mapping …`.
#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// Validate FILE (the errors as FILE:LINE:COL, nothing published when there is one), then publish it
    /// as the newest version; functions pick it up at their next cold start.
    Push { file: PathBuf },
    /// The published versions, newest first, and which one a cold start would run on.
    Show,
}

/// Runs `command` against the store at `MAPPING_S3_URI`.
pub async fn run_on_aws(command: MappingCommand, src: &dyn Source, out: &mut dyn Write) -> anyhow::Result<()> {
    let sdk = shared::aws::sdk_config().await;
    let store = S3MappingStore::new(shared::aws::s3_client(&sdk), &required(src, "MAPPING_S3_URI")?)?;
    run(command, &store, out).await
}

/// Runs `command` against `store`.
pub async fn run(command: MappingCommand, store: &S3MappingStore, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        MappingCommand::Push { file } => {
            // One read: the text validated is the text published.
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let mapping = MappingFile::parse(&text, &file.display().to_string())?;
            let version = store.publish(&text).await?;
            writeln!(
                out,
                "published {} ({} flows) to {} as version {version}",
                file.display(),
                mapping.flows().len(),
                store.uri()
            )?;
            Ok(())
        }
        MappingCommand::Show => {
            let versions = store.versions(MAPPING_VERSIONS_TRIED).await?;
            if versions.is_empty() {
                writeln!(out, "{}: nothing published; functions run on the shipped mapping.toml", store.uri())?;
                return Ok(());
            }
            let mut running = None;
            for version in &versions {
                let verdict = match MappingFile::parse(&store.read(version).await?, version) {
                    Ok(_) if running.is_none() => {
                        running = Some(version.clone());
                        "valid (runs)".to_string()
                    }
                    Ok(_) => "valid".to_string(),
                    Err(errors) => format!("invalid, refused:\n{errors}"),
                };
                writeln!(out, "{version}  {verdict}")?;
            }
            if running.is_none() {
                writeln!(
                    out,
                    "no valid version among the newest {}: functions hold their work (configuration error)",
                    versions.len()
                )?;
            }
            Ok(())
        }
    }
}
