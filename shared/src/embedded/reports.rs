//! F8's report sinks on the embedded backends: a local folder, and a notifier that keeps what it
//! was given (and prints it to stderr when asked).

use crate::error::{Error, Result};
use crate::ports::{Notifier, ReportStore};
use async_trait::async_trait;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// Report files in a local folder.
#[derive(Debug, Clone)]
pub struct LocalReports {
    root: PathBuf,
}

impl LocalReports {
    /// Files go below `root` (created when needed).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

#[async_trait]
impl ReportStore for LocalReports {
    async fn put(&self, name: &str, _content_type: &str, body: &[u8]) -> Result<String> {
        let relative = Path::new(name);
        if !relative.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(Error::Invalid(format!("report name {name:?} must be a relative path without ..")));
        }
        let path = self.root.join(relative);
        let io = |e: std::io::Error| Error::Store {
            service: "local reports",
            message: format!("cannot write {}: {e}", path.display()),
            retryable: false,
        };
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        tokio::fs::write(&path, body).await.map_err(io)?;
        Ok(path.display().to_string())
    }
}

/// Keeps every published (subject, message); optionally echoes them on stderr.
#[derive(Debug, Default)]
pub struct EmbeddedNotifier {
    messages: Mutex<Vec<(String, String)>>,
    echo: bool,
}

impl EmbeddedNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Also prints each message on stderr (the CLI's local runs).
    pub fn echoing() -> Self {
        Self { messages: Mutex::new(Vec::new()), echo: true }
    }

    /// What was published, oldest first.
    pub fn messages(&self) -> Vec<(String, String)> {
        super::lock(&self.messages).clone()
    }
}

#[async_trait]
impl Notifier for EmbeddedNotifier {
    async fn publish(&self, subject: &str, message: &str) -> Result<()> {
        if self.echo {
            eprintln!("{subject}\n{message}");
        }
        super::lock(&self.messages).push((subject.to_string(), message.to_string()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_land_below_the_folder_and_escapes_are_refused() {
        let dir = std::env::temp_dir().join(format!("b1force-reports-{}", uuid::Uuid::new_v4()));
        let reports = LocalReports::new(&dir);
        let at = reports.put("2026-11-01_2026-11-25/run.json", "application/json", b"{}").await.unwrap();
        assert_eq!(std::fs::read_to_string(&at).unwrap(), "{}");
        assert!(reports.put("../outside.json", "application/json", b"{}").await.is_err());
        assert!(reports.put("/etc/x", "text/plain", b"").await.is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
