//! The Salesforce metadata in `force-app/` against what the code expects of the org: every custom
//! field the Salesforce sandbox and the mapping catalogue name exists with a compatible type, the
//! integration permission set grants each one, the CDC channel feeds the Event Relay, and the Apex
//! callouts sign the way the receiver verifies. No Salesforce org is needed: the XML is read by
//! string search, which is enough for the flat files the Metadata API source format uses.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const NAMESPACE: &str = r#"xmlns="http://soap.sforce.com/2006/04/metadata""#;
const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn default_dir() -> PathBuf {
    repo().join("force-app/main/default")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn meta_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            meta_files(&path, out);
        } else if path.to_string_lossy().ends_with("-meta.xml") {
            out.push(path);
        }
    }
}

/// The text of every `<tag>...</tag>` in `xml`, in order.
fn values<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let end = after.find(&close).unwrap_or_else(|| panic!("<{tag}> without </{tag}>"));
        found.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    found
}

fn value<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    values(xml, tag).first().copied()
}

/// Every `<tag>...</tag>` block, e.g. each `<fieldPermissions>` of a permission set.
fn blocks<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    values(xml, tag)
}

/// Checks that tags nest and close, comments and the declaration aside, and that `&` only starts
/// an entity. Returns the root element's name.
fn check_well_formed(xml: &str) -> Result<String, String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut root = None;
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        if stack.is_empty() && !text.trim().is_empty() {
            return Err(format!("text outside the root element: {:?}", text.trim()));
        }
        check_entities(text)?;
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or("unclosed comment")?;
            rest = &after[end + 3..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("<?") {
            if root.is_some() {
                return Err("processing instruction after the root".into());
            }
            let end = after.find("?>").ok_or("unclosed declaration")?;
            rest = &after[end + 2..];
            continue;
        }
        let gt = rest.find('>').ok_or("unclosed tag")?;
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else {
            let name = tag.split_whitespace().next().unwrap_or("").trim_end_matches('/');
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                return Err(format!("bad tag <{tag}>"));
            }
            if stack.is_empty() {
                if root.is_some() {
                    return Err(format!("second root element <{name}>"));
                }
                root = Some(name.to_string());
            }
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
    }
    if !rest.trim().is_empty() {
        return Err(format!("trailing text {:?}", rest.trim()));
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{open}> never closed"));
    }
    root.ok_or_else(|| "no root element".into())
}

fn check_entities(text: &str) -> Result<(), String> {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        let known = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"];
        if !known.iter().any(|k| entity.starts_with(k)) {
            return Err(format!("bare & in {text:?}"));
        }
    }
    Ok(())
}

/// The root element each source-format suffix must have.
const ROOTS: &[(&str, &str)] = &[
    (".field-meta.xml", "CustomField"),
    (".object-meta.xml", "CustomObject"),
    (".permissionset-meta.xml", "PermissionSet"),
    (".cls-meta.xml", "ApexClass"),
    (".trigger-meta.xml", "ApexTrigger"),
    (".js-meta.xml", "LightningComponentBundle"),
    (".quickAction-meta.xml", "QuickAction"),
    (".customPermission-meta.xml", "CustomPermission"),
    (".notiftype-meta.xml", "CustomNotificationType"),
    (".tab-meta.xml", "CustomTab"),
    (".listView-meta.xml", "ListView"),
    (".reportType-meta.xml", "ReportType"),
    (".report-meta.xml", "Report"),
    (".reportFolder-meta.xml", "ReportFolder"),
    (".dashboard-meta.xml", "Dashboard"),
    (".dashboardFolder-meta.xml", "DashboardFolder"),
    (".namedCredential-meta.xml", "NamedCredential"),
    (".externalCredential-meta.xml", "ExternalCredential"),
    (".platformEventChannel-meta.xml", "PlatformEventChannel"),
    (".platformEventChannelMember-meta.xml", "PlatformEventChannelMember"),
    (".eventRelay-meta.xml", "EventRelayConfig"),
];

#[test]
fn every_metadata_file_is_well_formed_namespaced_and_has_the_root_its_suffix_needs() {
    let mut files = Vec::new();
    meta_files(&repo().join("force-app"), &mut files);
    assert!(files.len() > 40, "force-app holds {} metadata files", files.len());
    for optional in ["force-app-revenue-cloud", "force-app-quotes"] {
        meta_files(&repo().join(optional), &mut files);
    }
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let xml = read(&path);
        assert!(xml.starts_with(DECLARATION), "{name}: must start with {DECLARATION}");
        let root = check_well_formed(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let opening = xml.find(&format!("<{root}")).unwrap();
        let root_tag = &xml[opening..opening + xml[opening..].find('>').unwrap()];
        assert!(root_tag.contains(NAMESPACE), "{name}: root <{root}> lacks {NAMESPACE}");
        let (_, expected) = ROOTS
            .iter()
            .find(|(suffix, _)| name.ends_with(suffix))
            .unwrap_or_else(|| panic!("{name}: a metadata type this test does not know; add it to ROOTS"));
        assert_eq!(&root, expected, "{name}");
        if root == "CustomField" {
            let file_stem = name.trim_end_matches(".field-meta.xml");
            assert_eq!(value(&xml, "fullName"), Some(file_stem), "{name}: fullName must match the file name");
        }
    }
}

#[test]
fn the_well_formedness_check_rejects_what_the_metadata_api_would() {
    assert!(check_well_formed("<A><B>x</B></A>").is_ok());
    assert!(check_well_formed("<A><B>x</A></B>").is_err());
    assert!(check_well_formed("<A><B>x</B>").is_err());
    assert!(check_well_formed("<A>a & b</A>").is_err());
    assert!(check_well_formed("<A>a &amp; b<!-- <not a tag> --></A>").is_ok());
    assert!(check_well_formed("<A/><B/>").is_err());
}

/// One custom field as a Rust source declares it.
#[derive(Debug)]
struct Declared {
    object: String,
    field: String,
    kind: String,
    writable: bool,
    external_id: Option<bool>,
}

/// `f("SAP_CardCode__c", Text).external_id(true),` lines under each `object_def("Account", ...)`.
fn sandbox_fields() -> Vec<Declared> {
    let source = read(&repo().join("sandbox/src/salesforce/schema.rs"));
    let body = &source[source.find("fn build()").expect("schema.rs has fn build()")..];
    let mut object = String::new();
    let mut expect_name = false;
    let mut out = Vec::new();
    for line in body.lines().map(str::trim) {
        if line.starts_with("object_def(") {
            expect_name = true;
            if let Some(name) = first_literal(line) {
                object = name.to_string();
                expect_name = false;
            }
            continue;
        }
        if expect_name {
            if let Some(name) = first_literal(line) {
                object = name.to_string();
                expect_name = false;
            }
            continue;
        }
        let Some(args) = line.strip_prefix("f(") else { continue };
        let name = first_literal(args).unwrap();
        if !name.ends_with("__c") {
            continue;
        }
        let kind = declared_kind(args);
        let external_id = line.split_once(".external_id(").map(|(_, unique)| unique.starts_with("true"));
        let writable = !line.contains(".read_only()");
        out.push(Declared { object: object.clone(), field: name.to_string(), kind, writable, external_id });
    }
    out
}

/// `rw("X__c", Kind)` / `ro(...)` lines of the Salesforce entities in the mapping catalogue.
fn catalogue_fields() -> Vec<Declared> {
    let path = repo().join("shared/src/mapping/catalogue.rs");
    let source = read(&path);
    let start = source.find("static SALESFORCE").expect("catalogue.rs has static SALESFORCE");
    let section = &source[start..];
    let section = &section[..section.find("\n];").expect("SALESFORCE ends with ];")];
    let mut object = String::new();
    let mut expect_name = false;
    let mut out = Vec::new();
    for line in section.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("&entity(") {
            match first_literal(rest) {
                Some(name) => object = name.to_string(),
                None => expect_name = true,
            }
        } else if expect_name && let Some(name) = first_literal(line) {
            object = name.to_string();
            expect_name = false;
        }
        for (prefix, writable) in [("rw(", true), ("ro(", false)] {
            let mut rest = line;
            while let Some(at) = rest.find(prefix) {
                let args = &rest[at + prefix.len()..];
                rest = args;
                let Some(name) = first_literal(args) else { continue };
                if !name.ends_with("__c") {
                    continue;
                }
                let kind = declared_kind(args);
                out.push(Declared {
                    object: object.clone(),
                    field: name.to_string(),
                    kind,
                    writable,
                    external_id: None,
                });
            }
        }
    }
    out
}

/// The type after a field's name in `f("Name", Text)` / `rw("Account__c", Reference("Account"))`.
fn declared_kind(args: &str) -> String {
    let kind = args.split_once(", ").unwrap().1;
    match kind.strip_prefix("Reference(") {
        Some(target) => format!("Reference({})", first_literal(target).unwrap()),
        None => kind.split(')').next().unwrap().to_string(),
    }
}

fn first_literal(s: &str) -> Option<&str> {
    let start = s.find('"')? + 1;
    let len = s[start..].find('"')?;
    Some(&s[start..start + len])
}

/// Where a custom field's metadata lives: force-app, or a package of its own for objects only some
/// orgs have: force-app-revenue-cloud (the standard Invoice), force-app-quotes (Quote, where Quotes
/// are enabled).
fn field_file(object: &str, field: &str) -> PathBuf {
    let dir = match object {
        "Invoice" => repo().join("force-app-revenue-cloud/main/default"),
        "Quote" => quotes_dir(),
        _ => default_dir(),
    };
    dir.join(format!("objects/{object}/fields/{field}.field-meta.xml"))
}

/// Whether a Salesforce field type can hold what the declaring code calls `kind`.
fn compatible(kind: &str, xml: &str) -> bool {
    let ty = value(xml, "type").unwrap_or("");
    match kind {
        "Text" => ["Text", "TextArea", "LongTextArea", "Picklist", "Email", "Phone", "Url"].contains(&ty),
        "Picklist" => ty == "Picklist",
        "Number" => ["Number", "Currency", "Percent"].contains(&ty),
        "Currency" => ty == "Currency",
        "Boolean" => ty == "Checkbox",
        "Date" => ty == "Date",
        "DateTime" => ty == "DateTime",
        reference if reference.starts_with("Reference(") => {
            let target = &reference["Reference(".len()..reference.len() - 1];
            ["Lookup", "MasterDetail"].contains(&ty) && value(xml, "referenceTo") == Some(target)
        }
        _ => false,
    }
}

fn check_declared(source: &str, declared: &[Declared]) {
    assert!(
        declared.len() > 20,
        "{source}: only {} custom fields parsed; has the file's layout changed?",
        declared.len()
    );
    let mut problems = Vec::new();
    for d in declared {
        let path = field_file(&d.object, &d.field);
        let Ok(xml) = fs::read_to_string(&path) else {
            problems.push(format!("{}.{} ({}): no {}", d.object, d.field, d.kind, path.display()));
            continue;
        };
        if !compatible(&d.kind, &xml) {
            problems.push(format!(
                "{}.{}: {} cannot hold {}",
                d.object,
                d.field,
                value(&xml, "type").unwrap_or("?"),
                d.kind
            ));
        }
        if d.writable && xml.contains("<formula>") {
            problems.push(format!("{}.{}: written by B1Force but a formula", d.object, d.field));
        }
        if let Some(unique) = d.external_id {
            if value(&xml, "externalId") != Some("true") {
                problems.push(format!("{}.{}: must be an External ID", d.object, d.field));
            }
            if (value(&xml, "unique") == Some("true")) != unique {
                problems.push(format!("{}.{}: unique must be {unique}", d.object, d.field));
            }
        }
    }
    assert!(problems.is_empty(), "{source}:\n{}", problems.join("\n"));
}

#[test]
fn every_custom_field_of_the_salesforce_sandbox_exists_on_its_object_with_a_compatible_type() {
    let declared = sandbox_fields();
    let objects: BTreeSet<_> = declared.iter().map(|d| d.object.as_str()).collect();
    for object in ["Account", "Contact", "Opportunity", "Product2", "Case"] {
        assert!(objects.contains(object), "no custom fields parsed for {object}: {objects:?}");
    }
    check_declared("sandbox/src/salesforce/schema.rs", &declared);
}

#[test]
fn every_custom_field_the_mapping_catalogue_allows_exists_with_a_compatible_type() {
    let declared = catalogue_fields();
    assert!(declared.iter().any(|d| d.object == "SAP_Invoice__c" && d.field == "Account__c"));
    check_declared("shared/src/mapping/catalogue.rs", &declared);
}

#[test]
fn the_upsert_keys_are_external_ids_and_the_account_key_is_unique_and_case_insensitive() {
    let card_code = read(&field_file("Account", "SAP_CardCode__c"));
    assert_eq!(value(&card_code, "externalId"), Some("true"));
    assert_eq!(value(&card_code, "unique"), Some("true"));
    assert_eq!(value(&card_code, "caseSensitive"), Some("false"));
    for (object, field) in [("Product2", "SAP_ItemCode__c"), ("Contact", "SAP_ContactCode__c")] {
        assert_eq!(value(&read(&field_file(object, field)), "externalId"), Some("true"), "{object}.{field}");
    }
    // Invoices and credit notes have separate DocEntry sequences, so only the composite key is unique.
    let key = read(&field_file("SAP_Invoice__c", "SAP_Document_Key__c"));
    assert_eq!((value(&key, "externalId"), value(&key, "unique")), (Some("true"), Some("true")));
    let doc_entry = read(&field_file("SAP_Invoice__c", "SAP_DocEntry__c"));
    assert_ne!(value(&doc_entry, "unique"), Some("true"));
}

#[test]
fn checkboxes_default_to_false_and_text_and_numbers_have_their_sizes() {
    let mut files = Vec::new();
    meta_files(&default_dir().join("objects"), &mut files);
    for path in files.iter().filter(|p| p.to_string_lossy().ends_with(".field-meta.xml")) {
        let xml = read(path);
        let name = path.display();
        let formula = xml.contains("<formula>");
        match value(&xml, "type").unwrap() {
            "Checkbox" if !formula => assert_eq!(value(&xml, "defaultValue"), Some("false"), "{name}"),
            "Text" | "LongTextArea" => assert!(value(&xml, "length").is_some(), "{name}"),
            "Number" | "Currency" => {
                assert!(value(&xml, "precision").is_some() && value(&xml, "scale").is_some(), "{name}")
            }
            "Picklist" => {
                assert!(values(&xml, "fullName").len() > 1 && xml.contains("<valueSetDefinition>"), "{name}: values")
            }
            _ => {}
        }
    }
}

/// `Object.Field` → (readable, editable) from a permission set.
fn field_permissions(xml: &str) -> BTreeMap<String, (bool, bool)> {
    blocks(xml, "fieldPermissions")
        .into_iter()
        .map(|b| {
            let flag = |tag| value(b, tag) == Some("true");
            (value(b, "field").unwrap().to_string(), (flag("readable"), flag("editable")))
        })
        .collect()
}

/// Every custom field a user can be granted (`Object.Field__c`), with whether it is a formula.
fn grantable_fields() -> Vec<(String, bool)> {
    let mut files = Vec::new();
    meta_files(&default_dir().join("objects"), &mut files);
    let mut fields = Vec::new();
    for path in files.iter().filter(|p| p.to_string_lossy().ends_with(".field-meta.xml")) {
        let object = path.parent().unwrap().parent().unwrap().file_name().unwrap().to_string_lossy().to_string();
        if object.ends_with("__mdt") {
            continue; // the signing key is read by Apex only, never granted to a user
        }
        if object.ends_with("__e") {
            // "Because platform events aren't viewable in the Salesforce user interface and aren't
            // editable, field-level security permissions don't apply" (Platform Event Considerations).
            continue;
        }
        let field = path.file_name().unwrap().to_string_lossy().trim_end_matches(".field-meta.xml").to_string();
        fields.push((format!("{object}.{field}"), read(path).contains("<formula>")));
    }
    fields
}

/// #18: sales, finance and support see every field B1Force writes and can edit none; SAP invoices
/// are read-only to everyone but their owner (the integration user) by sharing.
#[test]
fn the_user_permission_set_reads_every_custom_field_edits_none_and_invoices_are_shared_read_only() {
    let xml = read(&default_dir().join("permissionsets/B1Force_User.permissionset-meta.xml"));
    let granted = field_permissions(&xml);
    let fields = grantable_fields();
    for (key, _) in &fields {
        assert_eq!(granted.get(key), Some(&(true, false)), "{key}: read, not edit");
    }
    assert_eq!(granted.len(), fields.len(), "nothing but B1Force's fields");
    let objects = blocks(&xml, "objectPermissions");
    assert_eq!(objects.len(), 1);
    assert_eq!(value(objects[0], "object"), Some("SAP_Invoice__c"));
    assert_eq!(value(objects[0], "allowRead"), Some("true"));
    for tag in ["allowCreate", "allowEdit", "allowDelete", "modifyAllRecords", "viewAllRecords"] {
        assert_eq!(value(objects[0], tag), Some("false"), "{tag}");
    }
    assert!(blocks(&xml, "userPermissions").is_empty());
    let tabs: Vec<(Option<&str>, Option<&str>)> =
        blocks(&xml, "tabSettings").into_iter().map(|b| (value(b, "tab"), value(b, "visibility"))).collect();
    assert_eq!(tabs, [(Some("SAP_Invoice__c"), Some("Visible"))], "the SAP invoices tab is visible");
    assert!(default_dir().join("tabs/SAP_Invoice__c.tab-meta.xml").exists());
    // The list views name fields the object has.
    for entry in fs::read_dir(default_dir().join("objects/SAP_Invoice__c/listViews")).unwrap() {
        let view = read(&entry.unwrap().path());
        for field in values(&view, "columns").into_iter().chain(values(&view, "field")).filter(|f| *f != "NAME") {
            let path = default_dir().join(format!("objects/SAP_Invoice__c/fields/{field}.field-meta.xml"));
            assert!(path.exists(), "list view {:?} names {field}", value(&view, "fullName"));
        }
    }
    let invoice = read(&default_dir().join("objects/SAP_Invoice__c/SAP_Invoice__c.object-meta.xml"));
    assert_eq!(value(&invoice, "sharingModel"), Some("Read"), "Public Read Only: only the owner edits");
    assert_eq!(value(&invoice, "externalSharingModel"), Some("Private"));
}

#[test]
fn the_integration_permission_set_grants_every_custom_field_and_nothing_destructive() {
    let xml = read(&default_dir().join("permissionsets/B1Force_Integration.permissionset-meta.xml"));
    let granted = field_permissions(&xml);
    let mut custom = BTreeSet::new();
    for (key, formula) in grantable_fields() {
        assert_eq!(
            granted.get(&key),
            Some(&(true, !formula)),
            "{key}: read{}",
            if formula { "-only (formula)" } else { " and edit" }
        );
        custom.insert(key);
    }
    for key in granted.keys().filter(|k| k.ends_with("__c")) {
        assert!(custom.contains(key), "{key} is granted but has no field-meta file");
    }
    assert!(!xml.contains("B1Force_Setting__mdt"), "the integration user needs no access to the signing key");

    let objects: BTreeMap<&str, &str> =
        blocks(&xml, "objectPermissions").into_iter().map(|b| (value(b, "object").unwrap(), b)).collect();
    for object in ["Account", "Contact", "Opportunity", "Product2", "Pricebook2", "Case", "Lead", "SAP_Invoice__c"] {
        let block = objects.get(object).unwrap_or_else(|| panic!("no object permissions for {object}"));
        assert_eq!(value(block, "allowRead"), Some("true"), "{object}");
    }
    assert_eq!(value(objects["Lead"], "allowEdit"), Some("false"), "Lead is read-only");
    // The credit alert platform event is published (created), never edited.
    let event = objects["B1Force_Credit_Alert__e"];
    assert_eq!((value(event, "allowCreate"), value(event, "allowEdit")), (Some("true"), Some("false")));
    for (object, block) in &objects {
        for tag in ["allowDelete", "modifyAllRecords", "viewAllRecords"] {
            assert_eq!(value(block, tag), Some("false"), "{object}: {tag}");
        }
    }
    // API Enabled, and View Setup and Configuration for GET /limits (#12 item 10); the Salesforce
    // sandbox grants its integration user exactly what the shipped permission set grants.
    let granted: BTreeSet<&str> = blocks(&xml, "userPermissions")
        .into_iter()
        .filter(|b| value(b, "enabled") == Some("true"))
        .filter_map(|b| value(b, "name"))
        .collect();
    assert_eq!(granted, BTreeSet::from(["ApiEnabled", "ViewSetup"]), "the user permissions");
    assert_eq!(granted, sandbox::salesforce::INTEGRATION_USER_PERMISSIONS.iter().copied().collect::<BTreeSet<_>>());
    assert_eq!(blocks(&xml, "userPermissions").len(), granted.len(), "no disabled user permission entries");
}

#[test]
fn the_cdc_channel_feeds_the_event_relay_through_the_aws_named_credential() {
    let dir = default_dir();
    let channel = read(&dir.join("platformEventChannels/B1Force__chn.platformEventChannel-meta.xml"));
    assert_eq!(value(&channel, "channelType"), Some("data"), "a CDC channel");

    let mut members = BTreeSet::new();
    for entry in fs::read_dir(dir.join("platformEventChannelMembers")).unwrap() {
        let xml = read(&entry.unwrap().path());
        assert_eq!(value(&xml, "eventChannel"), Some("B1Force__chn"));
        members.insert(value(&xml, "selectedEntity").unwrap().to_string());
    }
    let expected: BTreeSet<String> =
        ["Account", "Contact", "Lead", "Opportunity", "Case"].iter().map(|o| format!("{o}ChangeEvent")).collect();
    assert_eq!(members, expected, "5 entities: the most an org without the CDC add-on may select");

    let relay = read(&dir.join("eventRelays/B1Force_Relay.eventRelay-meta.xml"));
    assert_eq!(value(&relay, "destinationResourceName"), Some("callout:B1Force_AWS"));
    assert_eq!(value(&relay, "eventChannel"), Some("B1Force__chn"));
    assert_eq!(value(&relay, "state"), Some("STOP"), "created stopped; set to RUN after the event bus is associated");
    let option: serde_json::Value = serde_json::from_str(value(&relay, "relayOption").unwrap()).unwrap();
    assert_eq!(option, serde_json::json!({"ReplayRecovery": "LATEST"}));

    let aws = read(&dir.join("namedCredentials/B1Force_AWS.namedCredential-meta.xml"));
    let endpoint = value(&aws, "endpoint").unwrap();
    assert!(endpoint.starts_with("arn:aws:") && endpoint.contains("REPLACE_ME"), "{endpoint}");
}

#[test]
fn the_callout_credentials_are_placeholders_and_callers_get_the_principal() {
    let dir = default_dir();
    for name in ["B1Force_Webhook", "B1Force_Lookup"] {
        let xml = read(&dir.join(format!("namedCredentials/{name}.namedCredential-meta.xml")));
        assert_eq!(value(&xml, "namedCredentialType"), Some("SecuredEndpoint"), "{name}");
        assert!(
            values(&xml, "parameterValue").iter().any(|v| v.starts_with("https://REPLACE_ME")),
            "{name}: URL placeholder"
        );
        assert_eq!(value(&xml, "externalCredential"), Some("B1Force_Callout"), "{name}");
    }
    let external = read(&dir.join("externalCredentials/B1Force_Callout.externalCredential-meta.xml"));
    let principal = blocks(&external, "externalCredentialParameters")
        .into_iter()
        .find(|b| value(b, "parameterType") == Some("NamedPrincipal"))
        .and_then(|b| value(b, "parameterName"))
        .expect("a named principal");
    let callers = read(&dir.join("permissionsets/B1Force_Callout_User.permissionset-meta.xml"));
    assert_eq!(value(&callers, "externalCredentialPrincipal"), Some(format!("B1Force_Callout-{principal}").as_str()));
    let classes: BTreeSet<_> = values(&callers, "apexClass").into_iter().collect();
    assert_eq!(classes, BTreeSet::from(["B1ForceDealView", "B1ForceLookup", "B1ForceWebhook"]));

    let setting = read(&dir.join("objects/B1Force_Setting__mdt/B1Force_Setting__mdt.object-meta.xml"));
    assert_eq!(value(&setting, "visibility"), Some("Protected"));
    assert!(dir.join("objects/B1Force_Setting__mdt/fields/Webhook_Secret__c.field-meta.xml").exists());
    // One key per purpose (#13 item 7): lookups are signed with their own key.
    assert!(dir.join("objects/B1Force_Setting__mdt/fields/Lookup_Secret__c.field-meta.xml").exists());
    assert!(!dir.join("customMetadata").exists(), "no custom metadata record (it would carry the secret)");
}

#[test]
fn the_apex_callouts_sign_timestamp_dot_body_with_hmac_sha256() {
    let classes = default_dir().join("classes");
    let webhook = read(&classes.join("B1ForceWebhook.cls"));
    for needle in [
        "Crypto.generateMac('hmacSHA256', Blob.valueOf(timestamp + '.' + body)",
        "EncodingUtil.base64Encode(mac)",
        "'X-B1Force-Timestamp'",
        "'X-B1Force-Signature'",
        "Datetime.now().getTime() / 1000",
        "'callout:B1Force_Webhook/webhook'",
        "implements Queueable, Database.AllowsCallouts",
        "@InvocableMethod",
        "B1Force_Setting__mdt.getInstance('Default')",
        "Webhook_Secret__c",
        "writeStringField('object'",
        "writeFieldName('recordIds')",
        "writeStringField('reason'",
    ] {
        assert!(webhook.contains(needle), "B1ForceWebhook.cls lacks {needle}");
    }
    let lookup = read(&classes.join("B1ForceLookup.cls"));
    for needle in [
        "'callout:B1Force_Lookup/credit'",
        "'?cardCode=' + EncodingUtil.urlEncode(",
        "B1ForceWebhook.signedGet(ENDPOINT + query, PATH + query)",
        "@AuraEnabled",
        "@InvocableMethod",
    ] {
        assert!(lookup.contains(needle), "B1ForceLookup.cls lacks {needle}");
    }
    for (class, test) in [("B1ForceWebhook", "B1ForceWebhookTest"), ("B1ForceLookup", "B1ForceLookupTest")] {
        let source = read(&classes.join(format!("{test}.cls")));
        assert!(source.starts_with("@IsTest") && source.contains("implements HttpCalloutMock"), "{test}");
        assert!(source.contains(&format!("{class}.")), "{test} exercises {class}");
        assert!(source.contains("Blob.valueOf(timestamp + '.' + "), "{test} recomputes the signature");
    }
}

fn quotes_dir() -> PathBuf {
    repo().join("force-app-quotes/main/default")
}

/// #14 item 2: orgs with Quotes enabled deploy force-app-quotes besides force-app: the Quote
/// fields the quote flow writes back, the integration user's (edit) and the users' (read)
/// permission sets over every one of them, and the trigger that notifies B1Force of quote changes
/// through the signed webhook.
#[test]
fn the_quotes_package_grants_every_quote_field_and_its_trigger_notifies_through_the_webhook() {
    let mut files = Vec::new();
    meta_files(&quotes_dir().join("objects/Quote/fields"), &mut files);
    let fields: BTreeSet<String> = files
        .iter()
        .map(|p| format!("Quote.{}", p.file_name().unwrap().to_string_lossy().trim_end_matches(".field-meta.xml")))
        .collect();
    let written: BTreeSet<String> =
        shared::mapping::f1::QUOTE_WRITE_BACK.iter().map(|f| format!("Quote.{f}")).collect();
    assert!(written.is_subset(&fields), "every field the quote flow writes back exists: {written:?}");
    assert!(fields.contains("Quote.SAP_Quotation_Status__c"), "F5.quote's status field");
    for (set, editable) in [("B1Force_Quote_Integration", true), ("B1Force_Quote_User", false)] {
        let xml = read(&quotes_dir().join(format!("permissionsets/{set}.permissionset-meta.xml")));
        let granted = field_permissions(&xml);
        let expected: BTreeMap<String, (bool, bool)> = fields.iter().map(|f| (f.clone(), (true, editable))).collect();
        assert_eq!(granted, expected, "{set}");
        for block in blocks(&xml, "objectPermissions") {
            for tag in ["allowCreate", "allowDelete", "modifyAllRecords", "viewAllRecords"] {
                assert_eq!(value(block, tag), Some("false"), "{set}: {tag}");
            }
        }
    }
    let trigger = read(&quotes_dir().join("triggers/B1ForceQuoteNotify.trigger"));
    assert!(trigger.contains("on Quote(after insert, after update)"), "{trigger}");
    let class = read(&quotes_dir().join("classes/B1ForceQuoteNotifications.cls"));
    assert!(class.contains("B1ForceWebhook.notify(") && class.contains("'Quote'"), "signed, through the webhook");
    for watched in ["'Status'", "'IsSyncing'", "'TotalPrice'", "'ExpirationDate'"] {
        assert!(class.contains(watched), "{watched}");
    }
    assert!(!class.contains("SAP_"), "B1Force's own write-back is not watched: no echo");
    for meta in ["triggers/B1ForceQuoteNotify.trigger-meta.xml", "classes/B1ForceQuoteNotifications.cls-meta.xml"] {
        assert_eq!(value(&read(&quotes_dir().join(meta)), "apiVersion"), Some("63.0"), "{meta}");
    }
}

/// #18: every Lightning web component is exposed on API 63.0, has Jest tests, and calls only Apex
/// methods that exist and are `@AuraEnabled` (an import of a missing one fails only on deploy).
/// The `SECTIONS` table of b1forceSapSection: each object with the fields its section shows.
fn sap_section_fields() -> BTreeMap<String, Vec<String>> {
    let js = read(&default_dir().join("lwc/b1forceSapSection/b1forceSapSection.js"));
    let table = js.split("export const SECTIONS = {").nth(1).expect("SECTIONS").split("\n};").next().unwrap();
    let mut sections: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut object, mut in_fields) = (None, false);
    for line in table.lines() {
        if let Some(name) =
            line.strip_prefix("    ").and_then(|l| l.strip_suffix(": {")).filter(|n| !n.starts_with(' '))
        {
            object = Some(name.to_string());
        }
        in_fields |= line.trim_start().starts_with("fields: [");
        if in_fields {
            let names = line.split('\'').skip(1).step_by(2).map(str::to_string);
            sections.entry(object.clone().expect("an object")).or_default().extend(names);
        }
        in_fields &= !line.contains(']');
    }
    sections
}

/// #18: the record-page section shows, read-only, fields that exist and B1Force_User may read;
/// every SAP field of the four objects is on it unless it is a key only the integration uses; the
/// invoices list follows a relationship both invoice lookups declare.
#[test]
fn the_sap_section_shows_existing_readable_fields_and_leaves_out_only_integration_keys() {
    let sections = sap_section_fields();
    assert_eq!(sections.keys().collect::<Vec<_>>(), ["Account", "Case", "Opportunity", "Product2"]);
    let user = field_permissions(&read(&default_dir().join("permissionsets/B1Force_User.permissionset-meta.xml")));
    let integration_keys = ["Opportunity.SAP_DocEntry__c"];
    for (object, shown) in &sections {
        assert!(!shown.is_empty(), "{object}");
        for field in shown {
            assert!(field_file(object, field).exists(), "{object}.{field} does not exist");
            assert_eq!(user.get(&format!("{object}.{field}")), Some(&(true, false)), "{object}.{field}");
        }
        for entry in fs::read_dir(default_dir().join(format!("objects/{object}/fields"))).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().trim_end_matches(".field-meta.xml").to_string();
            let key = format!("{object}.{name}");
            assert!(
                shown.contains(&name) || integration_keys.contains(&key.as_str()),
                "{key} is on no section: show it or call it an integration key"
            );
        }
    }
    let js = read(&default_dir().join("lwc/b1forceSapSection/b1forceSapSection.js"));
    assert!(js.contains("INVOICES_RELATIONSHIP = 'SAP_Invoices__r'"));
    for lookup in ["Account__c", "Opportunity__c"] {
        let xml = read(&field_file("SAP_Invoice__c", lookup));
        assert_eq!(value(&xml, "relationshipName"), Some("SAP_Invoices"), "{lookup}");
    }
    for field in js.split("'SAP_Invoice__c.").skip(1).map(|s| s.split('\'').next().unwrap()) {
        assert!(field == "Name" || field_file("SAP_Invoice__c", field).exists(), "SAP_Invoice__c.{field}");
    }
    let meta = read(&default_dir().join("lwc/b1forceSapSection/b1forceSapSection.js-meta.xml"));
    let mut targets = values(&meta, "object");
    targets.sort_unstable();
    assert_eq!(
        targets,
        sections.keys().map(String::as_str).collect::<Vec<_>>(),
        "offered on the pages it has fields for"
    );
}

#[test]
fn every_lightning_component_has_jest_tests_and_calls_only_aura_enabled_apex() {
    let lwc = default_dir().join("lwc");
    let mut bundles = 0;
    for entry in fs::read_dir(&lwc).unwrap() {
        let bundle = entry.unwrap().path();
        let name = bundle.file_name().unwrap().to_string_lossy().to_string();
        bundles += 1;
        let meta = read(&bundle.join(format!("{name}.js-meta.xml")));
        assert_eq!((value(&meta, "apiVersion"), value(&meta, "isExposed")), (Some("63.0"), Some("true")), "{name}");
        let tests = bundle.join("__tests__");
        assert!(
            fs::read_dir(&tests).is_ok_and(|mut files| files.any(|f| f
                .unwrap()
                .path()
                .to_string_lossy()
                .ends_with(".test.js"))),
            "{name} has no Jest test"
        );
        let js = read(&bundle.join(format!("{name}.js")));
        for import in js.split("'@salesforce/apex/").skip(1) {
            let target = import.split('\'').next().unwrap();
            let (class, method) = target.split_once('.').unwrap();
            let apex = read(&default_dir().join(format!("classes/{class}.cls")));
            let declared =
                apex.find(&format!(" {method}(")).unwrap_or_else(|| panic!("{name}: {class}.{method} does not exist"));
            let before = &apex[..declared];
            let annotation =
                before.rfind("@AuraEnabled").unwrap_or_else(|| panic!("{class}.{method} is not @AuraEnabled"));
            assert!(
                !before[annotation..].contains(';'),
                "{class}.{method}: its @AuraEnabled belongs to something else"
            );
        }
    }
    assert!(bundles >= 1);
    assert!(read(&repo().join(".forceignore")).contains("**/__tests__/**"), "Jest tests stay out of deploys");
}

/// #18: Retry SAP sync is an operator's action: the quick actions on Opportunity and Account open the
/// b1forceRetry screen action, whose Apex checks the B1Force_Operator custom permission that only
/// the operator permission set grants (with the class and the callout principal, and no field).
#[test]
fn the_retry_action_is_for_operators_only() {
    let dir = default_dir();
    for object in ["Opportunity", "Account"] {
        let action = read(&dir.join(format!("quickActions/{object}.B1Force_Retry_SAP_Sync.quickAction-meta.xml")));
        assert_eq!(
            (value(&action, "type"), value(&action, "actionSubtype"), value(&action, "lightningWebComponent")),
            (Some("LightningWebComponent"), Some("ScreenAction"), Some("b1forceRetry")),
            "{object}"
        );
    }
    let component = read(&dir.join("lwc/b1forceRetry/b1forceRetry.js-meta.xml"));
    assert_eq!(
        (value(&component, "target"), value(&component, "actionType")),
        (Some("lightning__RecordAction"), Some("ScreenAction"))
    );
    let apex = read(&dir.join("classes/B1ForceRetry.cls"));
    assert!(
        apex.contains("PERMISSION = 'B1Force_Operator'")
            && apex.contains("FeatureManagement.checkPermission(PERMISSION)")
    );
    assert!(apex.contains("B1ForceWebhook.send(") && apex.contains("'retry'"), "the signed webhook, reason retry");
    assert!(dir.join("customPermissions/B1Force_Operator.customPermission-meta.xml").exists());
    let mut granting = Vec::new();
    for entry in fs::read_dir(dir.join("permissionsets")).unwrap() {
        let path = entry.unwrap().path();
        let xml = read(&path);
        if blocks(&xml, "customPermissions").iter().any(|b| value(b, "name") == Some("B1Force_Operator")) {
            granting.push(path.file_name().unwrap().to_string_lossy().to_string());
            assert!(field_permissions(&xml).is_empty(), "the operator set grants no field");
            let classes: BTreeSet<_> = values(&xml, "apexClass").into_iter().collect();
            assert_eq!(classes, BTreeSet::from(["B1ForceRetry", "B1ForceWebhook"]));
            assert_eq!(value(&xml, "externalCredentialPrincipal"), Some("B1Force_Callout-Default"));
        }
    }
    assert_eq!(granting, ["B1Force_Operator.permissionset-meta.xml"]);
}

/// #18 notifications: one custom notification type for bell and mobile, the triggers that hand the
/// credit alert event and the order status write-back to B1ForceNotifications, which finds the type
/// by that name, and one mute switch per kind in B1Force_Setting__mdt (off by default).
#[test]
fn notifications_have_their_type_triggers_and_mute_switches() {
    let dir = default_dir();
    let kind = read(&dir.join("notificationtypes/B1Force_SAP.notiftype-meta.xml"));
    assert_eq!((value(&kind, "desktop"), value(&kind, "mobile")), (Some("true"), Some("true")));
    let apex = read(&dir.join("classes/B1ForceNotifications.cls"));
    assert!(apex.contains("TYPE_NAME = 'B1Force_SAP'"));
    for (trigger, on) in [
        ("B1ForceOrderStatusNotify", "on Opportunity(after update)"),
        ("B1ForceCreditAlertNotify", "on B1Force_Credit_Alert__e(after insert)"),
    ] {
        let source = read(&dir.join(format!("triggers/{trigger}.trigger")));
        assert!(source.contains(on) && source.contains("B1ForceNotifications."), "{trigger}");
        let meta = read(&dir.join(format!("triggers/{trigger}.trigger-meta.xml")));
        assert_eq!(value(&meta, "apiVersion"), Some("63.0"), "{trigger}");
    }
    for switch in ["Mute_Credit_Alerts__c", "Mute_Order_Notifications__c"] {
        let field = read(&dir.join(format!("objects/B1Force_Setting__mdt/fields/{switch}.field-meta.xml")));
        assert_eq!(
            (value(&field, "type"), value(&field, "defaultValue")),
            (Some("Checkbox"), Some("false")),
            "{switch}"
        );
        assert!(apex.contains(&format!("muted('{switch}')")), "{switch} is read");
    }
}

/// A production deploy with `RunSpecifiedTests` needs every class and trigger covered by the tests
/// it names: the documented command names every test class of force-app.
#[test]
fn the_documented_deploy_runs_every_apex_test_class() {
    let guide = read(&repo().join("docs/salesforce-setup.md"));
    let command = guide.split("--source-dir force-app --test-level RunSpecifiedTests").nth(1).unwrap();
    let command = command.split("```").next().unwrap();
    let mut tests = 0;
    for entry in fs::read_dir(default_dir().join("classes")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if let Some(class) = name.strip_suffix(".cls")
            && read(&default_dir().join("classes").join(&name)).trim_start().starts_with("@IsTest")
        {
            tests += 1;
            assert!(command.contains(&format!("--tests {class}")), "the deploy command does not run {class}");
        }
    }
    assert!(tests >= 5, "{tests} test classes");
}

#[test]
fn the_project_file_and_every_apex_class_use_api_version_63() {
    let project: serde_json::Value = serde_json::from_str(&read(&repo().join("sfdx-project.json"))).unwrap();
    assert_eq!(project["sourceApiVersion"], "63.0");
    // #18 packaging: a bare `sf project deploy start` deploys the root project's package directories
    // only, so the optional packages (objects some orgs lack) are projects of their own.
    assert_eq!(project["packageDirectories"], serde_json::json!([{"path": "force-app", "default": true}]));
    for optional in ["force-app-revenue-cloud", "force-app-quotes"] {
        let own: serde_json::Value =
            serde_json::from_str(&read(&repo().join(optional).join("sfdx-project.json"))).unwrap();
        assert_eq!(own["packageDirectories"], serde_json::json!([{"path": "main", "default": true}]), "{optional}");
        assert_eq!(own["sourceApiVersion"], "63.0", "{optional}");
        assert!(repo().join(optional).join("main/default").is_dir(), "{optional}");
    }
    for entry in fs::read_dir(default_dir().join("classes")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".cls") {
            let meta = read(&PathBuf::from(format!("{}-meta.xml", path.display())));
            assert_eq!(value(&meta, "apiVersion"), Some("63.0"), "{}", path.display());
        }
    }
}

#[test]
fn the_setup_guide_explains_every_placeholder_in_the_metadata() {
    let guide = read(&repo().join("docs/salesforce-setup.md"));
    let mut files = Vec::new();
    meta_files(&repo().join("force-app"), &mut files);
    let mut placeholders = BTreeSet::new();
    for path in files {
        let xml = read(&path);
        for (at, _) in xml.match_indices("REPLACE_ME") {
            let token: String = xml[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            placeholders.insert(token);
        }
    }
    assert!(!placeholders.is_empty());
    for token in placeholders {
        assert!(guide.contains(&token), "docs/salesforce-setup.md does not explain {token}");
    }
    for step in
        ["B1Force_Integration", "B1Force__chn", "B1Force_Relay", "RUN", "B1Force_Setting__mdt", "Outbound Message"]
    {
        assert!(guide.contains(step), "docs/salesforce-setup.md does not mention {step}");
    }
}

/// The standard fields the report types use, per base object (custom ones must have field files).
const STANDARD_REPORT_FIELDS: &[(&str, &[&str])] = &[
    ("Opportunity", &["Name", "Account", "Owner", "StageName", "Amount", "CloseDate"]),
    ("Account", &["Name", "Owner"]),
    ("SAP_Invoice__c", &["Name"]),
];

/// Report type name → (base object, its columns).
fn report_types() -> BTreeMap<String, (String, Vec<String>)> {
    let mut types = BTreeMap::new();
    for entry in fs::read_dir(default_dir().join("reportTypes")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().trim_end_matches(".reportType-meta.xml").to_string();
        let xml = read(&path);
        let base = value(&xml, "baseObject").unwrap().to_string();
        for column in blocks(&xml, "columns") {
            assert_eq!(value(column, "table"), Some(base.as_str()), "{name}: every column is on its base object");
        }
        let columns = blocks(&xml, "columns").iter().map(|c| value(c, "field").unwrap().to_string()).collect();
        assert_eq!(value(&xml, "deployed"), Some("true"), "{name}");
        types.insert(name, (base, columns));
    }
    types
}

/// `Object$Field` split, checked against the report's base object.
fn report_field<'a>(column: &'a str, base: &str, report: &str) -> &'a str {
    let (object, field) = column.split_once('$').unwrap_or_else(|| panic!("{report}: {column} is not Object$Field"));
    assert_eq!(object, base, "{report}: {column}");
    field
}

/// #18: the report types name fields that exist; each report is built on one of them, names only
/// columns its report type offers, filters picklists on values the field has, sums only money and
/// numbers, and does not list a grouping as a column (the Metadata API refuses that).
#[test]
fn the_exception_reports_use_their_report_types_and_existing_fields_and_values() {
    let types = report_types();
    assert_eq!(types.len(), 3);
    for (name, (base, columns)) in &types {
        let standard = STANDARD_REPORT_FIELDS.iter().find(|(o, _)| o == base).map(|(_, f)| *f).unwrap_or(&[]);
        for field in columns {
            assert!(
                standard.contains(&field.as_str()) || field_file(base, field).exists(),
                "{name}: {base}.{field} does not exist"
            );
        }
    }
    let folder = default_dir().join("reports/B1Force_Reports");
    assert!(default_dir().join("reports/B1Force_Reports.reportFolder-meta.xml").exists());
    let mut reports = 0;
    for entry in fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let report = path.file_name().unwrap().to_string_lossy().to_string();
        let xml = read(&path);
        reports += 1;
        let type_name = value(&xml, "reportType").unwrap().strip_suffix("__c").expect("a custom report type");
        let (base, offered) = types.get(type_name).unwrap_or_else(|| panic!("{report}: no report type {type_name}"));
        assert_eq!(value(&xml, "format"), Some("Summary"), "{report}: dashboards chart summary reports");
        assert!(value(&xml, "description").unwrap().len() <= 255, "{report}: description over 255");
        let shown: Vec<&str> =
            blocks(&xml, "columns").iter().map(|c| report_field(value(c, "field").unwrap(), base, &report)).collect();
        let grouped: Vec<&str> = blocks(&xml, "groupingsDown")
            .iter()
            .map(|g| report_field(value(g, "field").unwrap(), base, &report))
            .collect();
        assert!(!grouped.is_empty(), "{report}");
        for field in shown.iter().chain(&grouped) {
            assert!(offered.iter().any(|o| o == field), "{report}: {type_name} offers no {field}");
        }
        for field in &grouped {
            assert!(!shown.contains(field), "{report}: {field} is both a grouping and a column");
        }
        for column in blocks(&xml, "columns").into_iter().filter(|c| c.contains("<aggregateTypes>")) {
            let field = report_field(value(column, "field").unwrap(), base, &report);
            let kind = value(&read(&field_file(base, field)), "type").unwrap().to_string();
            assert!(["Currency", "Number"].contains(&kind.as_str()), "{report}: sums {field} ({kind})");
        }
        for criteria in blocks(&xml, "criteriaItems") {
            let field = report_field(value(criteria, "column").unwrap(), base, &report);
            assert!(offered.iter().any(|o| o == field), "{report}: filters on {field}, not in {type_name}");
            let declared = read(&field_file(base, field));
            let wanted = value(criteria, "value").unwrap();
            match value(&declared, "type").unwrap() {
                "Picklist" => {
                    let allowed: Vec<&str> =
                        blocks(&declared, "value").iter().filter_map(|v| value(v, "fullName")).collect();
                    for one in wanted.split(',') {
                        assert!(allowed.contains(&one), "{report}: {field} has no value {one:?}");
                    }
                }
                "Checkbox" => assert!(["0", "1"].contains(&wanted), "{report}: {field} = {wanted}"),
                "Date" => assert!(wanted == "TODAY" || wanted.starts_with("LAST_N_DAYS:"), "{report}: {wanted}"),
                _ => assert!(wanted.parse::<f64>().is_ok(), "{report}: {field} = {wanted}"),
            }
        }
        let date_column = value(&xml, "dateColumn").unwrap();
        let date_field = report_field(date_column, base, &report);
        let date_type = if date_field == "CloseDate" {
            "Date".to_string()
        } else {
            value(&read(&field_file(base, date_field)), "type").unwrap().to_string()
        };
        assert!(["Date", "DateTime"].contains(&date_type.as_str()), "{report}: time frame on {date_field}");
    }
    assert_eq!(reports, 5);
}

/// #18: the "SAP sync exceptions" dashboard charts reports that exist, by a grouping each report
/// has, summing only what the report sums; chart components carry what deploys require (sortBy,
/// chartAxisRange); it names no running user (the deploying user runs it, so no org's user name
/// is baked in) and sits in a folder shared read-only with internal users.
#[test]
fn the_exception_dashboard_charts_existing_reports_by_their_groupings() {
    let dashboards = default_dir().join("dashboards");
    let folder = read(&dashboards.join("B1Force_Dashboards.dashboardFolder-meta.xml"));
    let report_folder = read(&default_dir().join("reports/B1Force_Reports.reportFolder-meta.xml"));
    for xml in [&folder, &report_folder] {
        assert_eq!(value(xml, "accessLevel"), Some("View"));
        assert_eq!(value(xml, "sharedTo"), Some("AllInternalUsers"));
    }
    let xml = read(&dashboards.join("B1Force_Dashboards/B1Force_SAP_Sync_Exceptions.dashboard-meta.xml"));
    assert!(xml.contains("\n    <title>SAP sync exceptions</title>"), "the dashboard's own title");
    assert!(!xml.contains("<runningUser>"));
    assert_eq!(value(&xml, "dashboardType"), Some("SpecifiedUser"));
    let components = blocks(&xml, "dashboardComponent");
    let mut charted = std::collections::BTreeSet::new();
    for component in &components {
        let path = value(component, "report").unwrap();
        let (folder_name, report) = path.split_once('/').unwrap();
        assert_eq!(folder_name, "B1Force_Reports");
        let report_xml = read(&default_dir().join(format!("reports/{path}.report-meta.xml")));
        charted.insert(report.to_string());
        let groupings: Vec<&str> =
            blocks(&report_xml, "groupingsDown").iter().map(|g| value(g, "field").unwrap()).collect();
        for grouping in values(component, "groupingColumn") {
            assert!(groupings.contains(&grouping), "{path}: not grouped by {grouping}");
        }
        let summary = value(component, "chartSummary").unwrap();
        let column = value(summary, "column").unwrap();
        if column != "RowCount" {
            let summed = blocks(&report_xml, "columns")
                .into_iter()
                .any(|c| value(c, "field") == Some(column) && value(c, "aggregateTypes") == Some("Sum"));
            assert!(summed, "{path}: the chart sums {column}, which the report does not");
        }
        if value(component, "componentType") != Some("Metric") {
            assert!(value(component, "sortBy").is_some() && value(component, "chartAxisRange").is_some(), "{path}");
        }
    }
    let reports: std::collections::BTreeSet<String> = fs::read_dir(default_dir().join("reports/B1Force_Reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".report-meta.xml").to_string())
        .collect();
    assert_eq!(charted, reports, "every report is on the dashboard");
    // Grid cells do not overlap.
    let mut cells = std::collections::BTreeSet::new();
    for grid in blocks(&xml, "dashboardGridComponents") {
        let n = |tag| value(grid, tag).unwrap().parse::<u32>().unwrap();
        for row in n("rowIndex")..n("rowIndex") + n("rowSpan") {
            for col in n("columnIndex")..n("columnIndex") + n("colSpan") {
                assert!(col < 12 && cells.insert((row, col)), "cell {row},{col} used twice or outside");
            }
        }
    }
}
