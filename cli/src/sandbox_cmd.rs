//! `b1force sandbox`: both sandboxes as real servers, announced as shell-evaluable lines.

use sandbox::{SalesforceOptions, SalesforceSandbox, SapOptions, SapSandbox};
use std::io::Write;

/// Serves until SIGINT/SIGTERM.
pub async fn run(sap_port: u16, sf_port: u16) -> anyhow::Result<()> {
    let sap = SapSandbox::start(SapOptions { port: sap_port, ..Default::default() }).await?;
    let sf = SalesforceSandbox::start(SalesforceOptions { port: sf_port, ..Default::default() }).await?;
    let mut out = std::io::stdout().lock();
    for (key, value) in [
        ("SAP_URL", sap.base_url()),
        ("SAP_COMPANY_DB", sap.company_db().to_string()),
        ("SAP_USER", sap.user().to_string()),
        ("SAP_PASSWORD", sap.password().to_string()),
        ("SF_LOGIN_URL", sf.login_url()),
        ("SF_CLIENT_ID", sf.client_id().to_string()),
        ("SF_CLIENT_SECRET", sf.client_secret().to_string()),
    ] {
        writeln!(out, "{key}={}", shell_quote(&value))?;
    }
    out.flush()?;
    drop(out);
    wait_for_shutdown().await;
    Ok(())
}

/// Single-quotes a value for `eval`.
fn shell_quote(value: &str) -> String {
    if value.bytes().all(|b| b.is_ascii_alphanumeric() || b"/:._-".contains(&b)) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

async fn wait_for_shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
