//! The live lookup endpoint: answers from SAP, refuses unsigned or mis-signed questions, caches.

use e2e::lookup::{KEY, lookups, signed_get};
use sandbox::{SapOptions, SapSandbox};
use serde_json::Value;
use shared::embedded::ManualClock;
use shared::ports::Clock;
use std::sync::Arc;
use std::time::Duration;

const NOW: i64 = 1_795_600_800_000;

fn body(response: &shared::ingress::function_url::HttpResponse) -> Value {
    serde_json::from_str(&response.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credit_and_item_questions_get_sap_answers_and_unknown_codes_get_404() {
    let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
    let service = lookups(&sap, Arc::new(ManualClock::new(NOW)), 30_000);

    let credit = service.handle(&signed_get("/credit", "cardCode=C20000", KEY, NOW)).await;
    assert_eq!(credit.status, 200, "{}", credit.body);
    let credit = body(&credit);
    assert_eq!(credit["cardCode"], "C20000");
    assert_eq!(credit["balance"].as_f64(), Some(2100.0));
    assert_eq!(credit["creditLimit"].as_f64(), Some(10000.0));

    let item = body(&service.handle(&signed_get("/item", "itemCode=A00005&priceList=1", KEY, NOW)).await);
    assert_eq!(item["inStock"].as_f64(), Some(68.0), "{item}");
    let warehouses = item["warehouses"].as_array().unwrap();
    assert!(!warehouses.is_empty(), "{item}");
    let summed: f64 = warehouses.iter().map(|w| w["inStock"].as_f64().unwrap()).sum();
    assert_eq!(summed, 68.0, "the warehouses add up to the item's figure: {item}");
    for w in warehouses {
        let expected =
            w["inStock"].as_f64().unwrap() - w["committed"].as_f64().unwrap() + w["ordered"].as_f64().unwrap();
        assert_eq!(
            (w["available"].as_f64(), w["warehouse"].as_str().is_some_and(|c| !c.is_empty())),
            (Some(expected), true)
        );
    }
    assert!(item["price"].as_f64().unwrap() > 0.0);

    assert_eq!(service.handle(&signed_get("/credit", "cardCode=C99999", KEY, NOW)).await.status, 404);
    // A quote is part of a key SAP allows (#12 item 6): quoted, it matches no partner instead of the query.
    assert_eq!(service.handle(&signed_get("/credit", "cardCode=C1%27%20or%201%20eq%201", KEY, NOW)).await.status, 404);
    assert_eq!(service.handle(&signed_get("/credit", "cardCode=C1234567890123456", KEY, NOW)).await.status, 400);
    assert_eq!(service.handle(&signed_get("/nothing", "", KEY, NOW)).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_without_a_valid_signature_for_exactly_that_question_are_refused() {
    let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
    let service = lookups(&sap, Arc::new(ManualClock::new(NOW)), 30_000);

    let wrong_key = signed_get("/credit", "cardCode=C20000", "another-key", NOW);
    let stale = signed_get("/credit", "cardCode=C20000", KEY, NOW - 10 * 60 * 1000);
    let mut other_question = signed_get("/credit", "cardCode=C20000", KEY, NOW);
    other_question["rawQueryString"] = "cardCode=C20001".into();
    let mut unsigned = signed_get("/credit", "cardCode=C20000", KEY, NOW);
    unsigned["headers"] = serde_json::json!({});
    for request in [wrong_key, stale, other_question, unsigned] {
        assert_eq!(service.handle(&request).await.status, 401, "{request}");
    }
    let mut post = signed_get("/credit", "cardCode=C20000", KEY, NOW);
    post["requestContext"]["http"]["method"] = "POST".into();
    assert_eq!(service.handle(&post).await.status, 405);
    assert_eq!(service.sap_reads(), 0, "nothing reached SAP");
    assert_eq!(sap.calls().total(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_load_asking_twice_hits_sap_once_until_the_cache_expires() {
    let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let service = lookups(&sap, clock.clone(), 30_000);

    let first = body(&service.handle(&signed_get("/credit", "cardCode=C20002", KEY, clock.now_millis())).await);
    let second = body(&service.handle(&signed_get("/credit", "cardCode=C20002", KEY, clock.now_millis())).await);
    assert_eq!((first["cached"].as_bool(), second["cached"].as_bool()), (Some(false), Some(true)));
    assert_eq!(first["balance"], second["balance"]);
    let reads = sap.calls().matching("GET /BusinessPartners");
    assert_eq!(reads, 1, "one SAP read for two questions");

    clock.advance(Duration::from_secs(31));
    let third = body(&service.handle(&signed_get("/credit", "cardCode=C20002", KEY, clock.now_millis())).await);
    assert_eq!(third["cached"].as_bool(), Some(false));
    assert_eq!(sap.calls().matching("GET /BusinessPartners"), 2);
}

/// #18: the Apex that calls the endpoint (force-app's B1ForceLookup, behind the b1forceDealPanel
/// component) reads every key the endpoint answers with, under the same name. (It read `creditAlert`,
/// which the endpoint never sent, while `frozen` went unread.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apex_lookup_client_reads_every_key_the_endpoint_sends() {
    let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
    let service = lookups(&sap, Arc::new(ManualClock::new(NOW)), 30_000);
    let apex = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../force-app/main/default/classes/B1ForceLookup.cls"),
    )
    .unwrap();
    for (path, query) in [("/credit", "cardCode=C20000"), ("/item", "itemCode=A00005&priceList=1")] {
        // Twice: the second answer is the cached one, which adds `cached: true`.
        for _ in 0..2 {
            let answer = body(&service.handle(&signed_get(path, query, KEY, NOW)).await);
            let keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
            assert!(keys.len() >= 6, "{path}: {answer}");
            for key in keys {
                assert!(
                    apex.contains(&format!("reply.get('{key}')")),
                    "B1ForceLookup.cls does not read {path}'s {key:?}"
                );
                // A list of objects (an item's warehouses): each row's keys are read as `row.get`.
                for row in answer[key].as_array().into_iter().flatten() {
                    for inner in row.as_object().unwrap().keys() {
                        assert!(
                            apex.contains(&format!("row.get('{inner}')")),
                            "B1ForceLookup.cls does not read {path}'s {key}[].{inner}"
                        );
                    }
                }
            }
        }
    }
}
