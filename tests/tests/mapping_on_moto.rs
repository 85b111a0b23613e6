//! #16 item 5: the mapping outside the binary. `b1force mapping push` validates then publishes to a
//! versioned S3 bucket (moto_server); a cold start runs on the newest valid version, refuses a newer
//! invalid one (the previous keeps running), and holds its work when none is valid.

use b1force_cli::mapping_cmd::{self, MappingCommand};
use e2e::moto::Systems;
use shared::aws::S3MappingStore;
use shared::error::ErrorClass;
use shared::mapping::file::MappingFile;
use shared::wiring::{AwsBackends, Backends, published_mapping};
use std::collections::HashMap;

const URI: &str = "s3://b1force-config/mapping.toml";

async fn versioned_bucket(systems: &Systems) -> anyhow::Result<S3MappingStore> {
    let sdk = systems.moto.sdk_config().await;
    let s3 = shared::aws::s3_client(&sdk);
    s3.create_bucket().bucket("b1force-config").send().await?;
    s3.put_bucket_versioning()
        .bucket("b1force-config")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await?;
    Ok(S3MappingStore::new(s3, URI)?)
}

/// The shipped mapping without F4's Phone: a valid file that differs.
fn customised() -> String {
    let shipped = MappingFile::shipped_text();
    let f4 = shipped.find("[flows.F4]").expect("the shipped file has F4");
    let phone = r#"  { salesforce = "Phone", sap = "Phone1", owner = "both" },
"#;
    let at = f4 + shipped[f4..].find(phone).expect("F4 maps Phone; update this test if it moved");
    format!("{}{}", &shipped[..at], &shipped[at + phone.len()..])
}

fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn push(store: &S3MappingStore, path: std::path::PathBuf) -> anyhow::Result<String> {
    let mut out = Vec::new();
    mapping_cmd::run(MappingCommand::Push { file: path }, store, &mut out).await?;
    Ok(String::from_utf8(out)?)
}

fn f4_fields(mapping: &MappingFile) -> Vec<String> {
    mapping.flow("F4").unwrap().fields.iter().map(|f| f.salesforce.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pushed_mapping_runs_a_bad_one_is_refused_while_the_previous_runs_and_none_valid_holds_the_work()
-> anyhow::Result<()> {
    let systems = Systems::start().await?;
    let store = versioned_bucket(&systems).await?;
    let sdk = systems.moto.sdk_config().await;
    let mut settings: HashMap<String, String> = systems.settings.clone();
    settings.insert("MAPPING_S3_URI".into(), URI.into());
    let dir = tempfile::tempdir()?;

    // Never published: the shipped defaults.
    let loaded = published_mapping(&sdk, &settings).await?;
    assert_eq!((loaded.version, loaded.refused.len()), (None, 0));
    assert!(f4_fields(&loaded.mapping).contains(&"Phone".to_string()));

    // Good: validated, published, and what a cold start runs on (the poller's backends included).
    let said = push(&store, file(&dir, "customer.toml", &customised())).await?;
    assert!(said.contains("published") && said.contains(URI), "{said}");
    let good = store.versions(5).await?[0].clone();
    let backends = AwsBackends::connect(&sdk, &settings, "sap-poller").await?;
    let running = backends.mapping()?;
    assert!(running.origin.ends_with(&format!("versionId={good}")), "{}", running.origin);
    assert!(!f4_fields(&running).contains(&"Phone".to_string()) && f4_fields(&running).contains(&"Name".to_string()));

    // Bad through the CLI: refused with its line and column, nothing published.
    let broken = customised().replace(r#"sap_entity = "BusinessPartners""#, r#"sap_entity = "BusinessPartner""#);
    let refused = push(&store, file(&dir, "broken.toml", &broken)).await.expect_err("an invalid file is not published");
    assert!(refused.to_string().contains("broken.toml:"), "{refused}");
    assert_eq!(store.versions(5).await?, vec![good.clone()]);

    // Bad past the CLI (an `aws s3 cp`): the cold start refuses it and keeps running the previous.
    let bad = store.publish(&broken).await?;
    let loaded = published_mapping(&sdk, &settings).await?;
    assert_eq!(loaded.version.as_deref(), Some(good.as_str()));
    assert_eq!(loaded.refused.len(), 1);
    assert_eq!(loaded.refused[0].0, bad);
    let errors = loaded.refused[0].1.to_string();
    assert!(errors.contains(&format!("versionId={bad}:")) && errors.contains("BusinessPartner"), "{errors}");
    let mut shown = Vec::new();
    mapping_cmd::run(MappingCommand::Show, &store, &mut shown).await?;
    let shown = String::from_utf8(shown)?;
    assert!(shown.contains(&format!("{bad}  invalid")) && shown.contains(&format!("{good}  valid (runs)")), "{shown}");

    // Rollback: pushing a valid file again makes it the one that runs; nothing is refused.
    push(&store, file(&dir, "fixed.toml", MappingFile::shipped_text())).await?;
    let loaded = published_mapping(&sdk, &settings).await?;
    assert!(loaded.refused.is_empty() && loaded.version.is_some_and(|v| v != good && v != bad));
    assert!(f4_fields(&loaded.mapping).contains(&"Phone".to_string()));

    // None valid: the sap-writer's cold start fails as a configuration error (it then holds its work).
    let only_bad = "s3://b1force-config/only-bad.toml";
    let only_bad_store = S3MappingStore::new(shared::aws::s3_client(&sdk), only_bad)?;
    only_bad_store.publish(&broken).await?;
    settings.insert("MAPPING_S3_URI".into(), only_bad.into());
    let Err(err) = shared::wiring::sap_writer_counted(&sdk, &settings).await else {
        panic!("a sap-writer cannot start on an invalid mapping")
    };
    assert_eq!(err.class(), ErrorClass::Configuration, "{err}");
    assert!(err.to_string().contains("no valid mapping"), "{err}");
    Ok(())
}
