//! The pipeline at debug level logs neither passwords, client secrets, access tokens nor session cookies.

use b1force_cli::local::{LocalOptions, LocalStack};
use e2e::logs::Captured;
use e2e::pipeline::deliver_closed_won;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debug_level_run_logs_no_password_secret_token_or_session_cookie() {
    let logs = Captured::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .json()
        .with_current_span(true)
        .init();

    let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
    let ids = stack.sf_sandbox.seed_closed_won(20);
    deliver_closed_won(&stack, &ids, 2, "logs").await.unwrap();
    stack.sap_sandbox.expire_sessions(); // forces a relogin, the likeliest place for a leak
    stack.drain(u64::MAX).await.unwrap();
    let ids_with_poison = vec![stack.sf_sandbox.create_opportunity(
        stack.sf_sandbox.records("Account")[0]["Id"].as_str().unwrap(),
        "Closed Won",
        &["Z99999"],
    )];
    deliver_closed_won(&stack, &ids_with_poison, 1, "logs-poison").await.unwrap();
    stack.drain(u64::MAX).await.unwrap();

    let text = logs.text();
    assert!(text.lines().count() > 20, "the run should have logged something at debug level");
    let mut secrets = vec![
        ("SAP password", stack.sap_sandbox.password().to_string()),
        ("Salesforce client secret", stack.sf_sandbox.client_secret().to_string()),
    ];
    secrets.extend(stack.sf_sandbox.issued_tokens().into_iter().map(|t| ("Salesforce access token", t)));
    secrets.extend(stack.sap_sandbox.session_ids().into_iter().map(|s| ("B1SESSION", s)));
    assert!(secrets.len() >= 4, "the run used at least one token and two SAP sessions");
    for (what, value) in secrets {
        assert!(!value.is_empty());
        assert!(!text.contains(&value), "the logs contain the {what}");
    }
}
