//! #12 items 1 and 5 end to end: the client's property type table agrees with the `$metadata` the
//! sandbox serves, and key reads stay under the Apache request-line limit whatever the keys look like.

use sandbox::sap::LIMIT_REQUEST_LINE;
use sandbox::{SapOptions, SapSandbox};
use secrecy::SecretString;
use serde_json::json;
use shared::ports::SapRows;
use shared::sap::odata::{Filter, Property, Query};
use shared::sap::schema::{self, PROPERTY_TYPES, USER_FIELD_TYPES};
use shared::sap::{MAX_REQUEST_LINE, SapClient};

fn client(sap: &SapSandbox) -> SapClient {
    SapClient::new(shared::config::SapConfig {
        base_url: sap.base_url(),
        company_db: sap.company_db().into(),
        user: sap.user().into(),
        password: SecretString::from(sap.password()),
        ca_bundle_pem: None,
        order_reference_udf: Some("U_SF_OpportunityId".into()),
        page_size: 100,
        timeout_secs: 10,
    })
    .unwrap()
}

#[tokio::test]
async fn every_property_the_client_filters_on_is_declared_in_metadata_with_the_clients_type() {
    let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
    // Read with a session, as a real client must.
    let xml = client(&sap).metadata().await.unwrap();
    let mut checked = 0;
    for (property, edm, sets) in PROPERTY_TYPES.iter().chain(USER_FIELD_TYPES) {
        for set in *sets {
            let declared = schema::declared_type(&xml, set, property);
            assert_eq!(declared, Some(edm.type_name().as_str()), "{set}.{property}");
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} pairs checked");
    assert_eq!(schema::disagreements(&xml), [], "the same check as b1force check runs");
    // The enum members the client sends exist in the declared enumerations.
    for (enum_type, member) in [("BoStatus", "bost_Open"), ("BoYesNoEnum", "tNO")] {
        let block = xml
            .split(&format!("Name=\"{enum_type}\" UnderlyingType"))
            .nth(1)
            .unwrap()
            .split("</EnumType>")
            .next()
            .unwrap();
        assert!(block.contains(&format!("<Member Name=\"{member}\"")), "{enum_type}.{member}");
    }
}

/// 50-character ItemCodes of non-ASCII letters (6 encoded bytes each): 100 of them in one `$filter`
/// make a request line of about 33 KB.
fn long_item_codes(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("Ü{i:03}{}", "Ä".repeat(46))).collect()
}

#[tokio::test]
async fn a_hundred_long_non_ascii_item_codes_are_read_in_requests_under_the_request_line_limit() {
    assert_eq!(MAX_REQUEST_LINE, LIMIT_REQUEST_LINE, "the client plans for the limit the sandbox enforces");
    let sap = SapSandbox::start(SapOptions::default()).await.unwrap();
    let codes = long_item_codes(100);
    for code in &codes {
        assert_eq!(code.chars().count(), 50, "OITM.ItemCode holds 50 characters");
        sap.insert_item(json!({"ItemCode": code, "ItemName": format!("Long {code}"), "QuantityOnStock": 1.0}));
    }
    let client = client(&sap);

    // The old way, all 100 keys in one request, is refused by the front end.
    let item_code = Property::from("ItemCode");
    let all_in_one = Filter::any(codes.iter().map(|c| Filter::eq(&item_code, schema::literal(&item_code, c).unwrap())));
    let refused =
        client.query("Items", &Query::new().filter(all_in_one).select(["ItemCode"]).top(100)).await.unwrap_err();
    assert!(refused.to_string().contains("414"), "{refused}");

    sap.calls().reset();
    let rows = client.rows_by_key("Items", "ItemCode", &codes, &["ItemName".to_string()]).await.unwrap();
    let mut found: Vec<&str> = rows.iter().map(|r| r["ItemCode"].as_str().unwrap()).collect();
    found.sort_unstable();
    assert_eq!(found, codes.iter().map(String::as_str).collect::<Vec<_>>(), "every row read once");
    let requests = sap.calls().snapshot()["GET /Items"];
    // 315 encoded bytes a key with its ` or `: 25 keys a request, 4 requests (measured), not 1 and not 100.
    assert!((4..=8).contains(&requests), "{requests} requests");

    // ASCII keys still go 100 to a request.
    sap.calls().reset();
    let ascii: Vec<String> = (0..100).map(|i| format!("A{i:05}")).collect();
    client.rows_by_key("Items", "ItemCode", &ascii, &[]).await.unwrap();
    assert_eq!(sap.calls().snapshot()["GET /Items"], 1);
}
