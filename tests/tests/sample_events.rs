//! Every sample event in `events/` runs through `b1force invoke`'s handlers on the local stack.

use b1force_cli::invoke::{FUNCTIONS, run_on};
use b1force_cli::local::{LocalOptions, LocalStack};
use serde_json::Value;
use std::path::PathBuf;

fn samples(function: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events").join(function);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_function_has_samples_and_each_sample_runs() {
    for function in FUNCTIONS {
        let files = samples(function);
        assert!(!files.is_empty(), "events/{function}/ has no sample");
        for file in files {
            let stack = LocalStack::start(LocalOptions::default()).await.unwrap();
            let event: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let result = run_on(&stack, function, event).await;
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            let result = result.unwrap_or_else(|e| panic!("{function} {name}: {e:#}"));
            if name == "webhook-function-url.json" {
                // Signed once, long ago: the timestamp window refuses it (tests/delivery_paths.rs re-signs it).
                assert_eq!(result["answer"]["statusCode"], 401, "{result}");
                assert!(result["answer"]["body"].as_str().unwrap().contains("STALE_TIMESTAMP"));
                continue;
            }
            match *function {
                "sap-poller" => assert!(result["report"]["enqueued"].as_u64() > Some(0), "{name}: {result}"),
                "sf-writer" => {
                    assert_eq!(result["run"]["dead_lettered"], 0, "{result}");
                    assert!(result["run"]["written"].as_u64() > Some(0), "{result}");
                }
                "sap-writer" => assert!(result["dispositions"].as_array().is_some_and(|d| !d.is_empty()), "{result}"),
                "sap-webhook" => {
                    assert_eq!(result["answer"]["statusCode"], 200, "{name}: {result}");
                    if name == "notification.json" {
                        assert!(!result["queued"].as_array().unwrap().is_empty(), "{result}");
                    }
                }
                _ => assert!(result["answer"].is_object() || result["report"].is_object(), "{name}: {result}"),
            }
        }
    }
}
