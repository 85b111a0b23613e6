//! SOAP Outbound Messages on the Function URL (`POST /outbound-message`, reference §5.1): pure parsing.
//!
//! The XML comes from the internet, so the reader makes XXE and entity bombs impossible rather than
//! unlikely: any DOCTYPE refuses the whole message (without a DTD no entity can be declared), only
//! the five predefined entities and character references are resolved, and nothing is ever read
//! from a file or the network. Elements are matched by local name, since senders pick their own
//! prefixes. Size is bounded by [`MAX_BODY_BYTES`], depth by a fixed limit.

use super::cdc;
use super::function_url::Rejection;
use crate::domain::{EpochMillis, Notification, RecordKey, SalesforceId};
use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};
use std::fmt::Display;

/// Larger bodies are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Salesforce batches at most 100 notifications per message.
pub const MAX_NOTIFICATIONS: usize = 100;
/// Deeper nesting than a SOAP notification needs is refused.
const MAX_DEPTH: usize = 16;

/// The acknowledgement Salesforce requires (HTTP 200, `text/xml`); anything else makes it retry.
pub const ACK: &str = concat!(
    r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>"#,
    r#"<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>"#,
    r#"</notificationsResponse></soapenv:Body></soapenv:Envelope>"#
);

/// One Outbound Message: up to 100 notifications from one org and one workflow/flow action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    pub organization_id: SalesforceId,
    pub action_id: SalesforceId,
    pub notifications: Vec<OutboundNotification>,
}

/// One `<Notification>`: its own id (the same on every retry of it) and the record it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundNotification {
    pub id: SalesforceId,
    pub record: RecordKey,
    /// The sObject's `LastModifiedDate`, when the action sends that field.
    pub last_modified: Option<EpochMillis>,
}

impl OutboundMessage {
    /// One queue notification per Outbound Message notification. `changed_at` is the record's
    /// LastModifiedDate or 0 (unknown): never the arrival time, so Salesforce's retries stay identical.
    pub fn notifications(&self, correlation_id: &str) -> Vec<Notification> {
        self.notifications
            .iter()
            .map(|n| Notification {
                record: n.record.clone(),
                reason: format!("outbound:{}", self.action_id),
                changed_at: n.last_modified.unwrap_or(0),
                source_version: n.id.to_string(),
                correlation_id: correlation_id.to_string(),
            })
            .collect()
    }
}

/// Refuses a message from another org than `expected` (15- and 18-character ids compare equal).
pub fn check_org(message: &OutboundMessage, expected: &SalesforceId) -> Result<(), Rejection> {
    if message.organization_id.short() == expected.short() {
        Ok(())
    } else {
        Err(Rejection::new(401, "WRONG_ORG", "OrganizationId is not the org this receiver serves (SF_ORG_ID)"))
    }
}

/// Parses a SOAP Outbound Message body; every problem is a 400 naming what is wrong.
pub fn parse(xml: &[u8]) -> Result<OutboundMessage, Rejection> {
    let mut reader = Reader::from_reader(xml);
    let mut walk = Walk::default();
    loop {
        let event = reader.read_event().map_err(|e| malformed(reader.error_position(), e))?;
        match event {
            Event::DocType(_) => {
                return Err(Rejection::new(
                    400,
                    "DTD_REFUSED",
                    "the message has a DOCTYPE; Outbound Messages never do, and DTDs are refused",
                ));
            }
            Event::Start(element) => walk.open(&element)?,
            Event::Empty(element) => {
                walk.open(&element)?;
                walk.close()?;
            }
            Event::End(_) => walk.close()?,
            Event::Text(text) => {
                walk.text.push_str(&text.decode().map_err(|e| malformed(reader.buffer_position(), e))?)
            }
            Event::CData(text) => {
                walk.text.push_str(&text.decode().map_err(|e| malformed(reader.buffer_position(), e))?)
            }
            Event::GeneralRef(reference) => walk.resolve(&reference)?,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    walk.finish()
}

fn bad(message: impl Into<String>) -> Rejection {
    Rejection::new(400, "BAD_OUTBOUND_MESSAGE", message)
}

fn malformed(position: u64, err: impl Display) -> Rejection {
    let detail: String = err.to_string().chars().take(160).collect();
    Rejection::new(400, "MALFORMED_XML", format!("malformed XML near byte {position}: {detail}"))
}

/// Where the reader is and what it has collected so far.
#[derive(Default)]
struct Walk {
    /// Local names of the open elements.
    path: Vec<String>,
    /// Text of the innermost element since it opened.
    text: String,
    organization_id: Option<String>,
    action_id: Option<String>,
    open_notification: Option<Pending>,
    notifications: Vec<OutboundNotification>,
}

/// A `<Notification>` being read.
#[derive(Default)]
struct Pending {
    id: Option<String>,
    object: Option<String>,
    record_id: Option<String>,
    last_modified: Option<String>,
}

const NOTIFICATIONS: [&str; 3] = ["Envelope", "Body", "notifications"];

/// True when the open elements are exactly `Envelope/Body/notifications/<tail>`.
fn at(path: &[String], tail: &[&str]) -> bool {
    path.len() == NOTIFICATIONS.len() + tail.len()
        && path.iter().map(String::as_str).eq(NOTIFICATIONS.iter().chain(tail.iter()).copied())
}

impl Walk {
    fn open(&mut self, element: &BytesStart<'_>) -> Result<(), Rejection> {
        if self.path.len() >= MAX_DEPTH {
            return Err(bad(format!("elements nest deeper than {MAX_DEPTH} levels")));
        }
        let name = std::str::from_utf8(element.local_name().into_inner())
            .map_err(|_| bad("an element name is not UTF-8"))?
            .to_string();
        self.path.push(name);
        self.text.clear();
        if at(&self.path, &["Notification"]) {
            if self.notifications.len() >= MAX_NOTIFICATIONS {
                return Err(bad(format!("more than {MAX_NOTIFICATIONS} Notifications in one message")));
            }
            self.open_notification = Some(Pending::default());
        } else if at(&self.path, &["Notification", "sObject"]) {
            let object = sobject_type(element)?;
            if let Some(pending) = self.open_notification.as_mut() {
                pending.object = object;
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), Rejection> {
        let value = std::mem::take(&mut self.text).trim().to_string();
        if at(&self.path, &["OrganizationId"]) {
            self.organization_id = Some(value);
        } else if at(&self.path, &["ActionId"]) {
            self.action_id = Some(value);
        } else if at(&self.path, &["Notification"]) {
            let pending = self.open_notification.take().unwrap_or_default();
            self.notifications.push(pending.into_notification()?);
        } else if let Some(pending) = self.open_notification.as_mut() {
            if at(&self.path, &["Notification", "Id"]) {
                pending.id = Some(value);
            } else if at(&self.path, &["Notification", "sObject", "Id"]) {
                pending.record_id = Some(value);
            } else if at(&self.path, &["Notification", "sObject", "LastModifiedDate"]) {
                pending.last_modified = Some(value);
            }
        }
        self.path.pop();
        Ok(())
    }

    /// `&amp;` and friends, and `&#NN;`; any other entity can only come from a DTD, which is refused.
    fn resolve(&mut self, reference: &BytesRef<'_>) -> Result<(), Rejection> {
        if let Some(ch) = reference.resolve_char_ref().map_err(|e| bad(format!("bad character reference: {e}")))? {
            self.text.push(ch);
            return Ok(());
        }
        let name = reference.decode().map_err(|_| bad("an entity name is not UTF-8"))?;
        match quick_xml::escape::resolve_predefined_entity(&name) {
            Some(expansion) => {
                self.text.push_str(expansion);
                Ok(())
            }
            None => Err(Rejection::new(
                400,
                "UNDECLARED_ENTITY",
                format!(
                    "entity &{}; is not one of the five predefined XML entities",
                    name.chars().take(40).collect::<String>()
                ),
            )),
        }
    }

    fn finish(self) -> Result<OutboundMessage, Rejection> {
        if let Some(open) = self.path.last() {
            return Err(bad(format!("the document ends inside <{}>", open.chars().take(40).collect::<String>())));
        }
        let organization_id = self
            .organization_id
            .ok_or_else(|| bad("not an Outbound Message: no Envelope/Body/notifications/OrganizationId"))?;
        let action_id = self.action_id.ok_or_else(|| bad("the message has no ActionId"))?;
        if self.notifications.is_empty() {
            return Err(bad("the message has no Notification"));
        }
        Ok(OutboundMessage {
            organization_id: SalesforceId::parse(&organization_id).map_err(|e| bad(format!("OrganizationId: {e}")))?,
            action_id: SalesforceId::parse(&action_id).map_err(|e| bad(format!("ActionId: {e}")))?,
            notifications: self.notifications,
        })
    }
}

impl Pending {
    fn into_notification(self) -> Result<OutboundNotification, Rejection> {
        let id = self.id.ok_or_else(|| bad("a Notification has no Id"))?;
        let id = SalesforceId::parse(&id).map_err(|e| bad(format!("Notification Id: {e}")))?;
        let object = self.object.ok_or_else(|| bad("a Notification's sObject has no xsi:type"))?;
        if crate::domain::objects::salesforce_object(&object).is_none() {
            return Err(Rejection::new(
                400,
                "UNKNOWN_OBJECT",
                format!(
                    "sObject type {:?} is not handled; Outbound Messages may carry {}",
                    object.chars().take(80).collect::<String>(),
                    crate::domain::objects::salesforce_object_names()
                ),
            ));
        }
        let record_id = self.record_id.ok_or_else(|| bad(format!("a Notification's {object} has no sf:Id")))?;
        let record = cdc::record_key(&object, &record_id).map_err(|e| bad(e.to_string()))?;
        Ok(OutboundNotification { id, record, last_modified: self.last_modified.as_deref().and_then(cdc::iso_millis) })
    }
}

/// The object named by `xsi:type="sf:Opportunity"` (any prefix), if the attribute is there.
fn sobject_type(element: &BytesStart<'_>) -> Result<Option<String>, Rejection> {
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|e| bad(format!("bad attribute on sObject: {e}")))?;
        if attribute.key.local_name().as_ref() == b"type" && attribute.key.prefix().is_some() {
            let value = attribute.unescape_value().map_err(|e| bad(format!("bad xsi:type: {e}")))?;
            return Ok(Some(value.rsplit(':').next().unwrap_or_default().to_string()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's sample (§5.1) with real-looking ids.
    const DOCUMENTED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">
  <OrganizationId>00DSB00000000012AA</OrganizationId><ActionId>04kSB0000000001YAA</ActionId><SessionId xsi:nil="true"/>
  <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/63.0/00DSB0000000001</EnterpriseUrl>
  <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/63.0/00DSB0000000001</PartnerUrl>
  <Notification><Id>04lSB0000000001YAA</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
    <sf:Id>006SB00000001GHYAY</sf:Id><sf:StageName>Closed Won</sf:StageName></sObject></Notification>
 </notifications></soapenv:Body></soapenv:Envelope>"#;

    fn with_notifications(notifications: &str) -> String {
        format!(
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00DSB0000000001</OrganizationId><ActionId>04kSB0000000001YAA</ActionId>{notifications}</notifications></soapenv:Body></soapenv:Envelope>"#
        )
    }

    fn notification(id: &str, object: &str, record: &str, extra: &str) -> String {
        format!(
            r#"<Notification><Id>{id}</Id><sObject xsi:type="sf:{object}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>{record}</sf:Id>{extra}</sObject></Notification>"#
        )
    }

    #[test]
    fn the_documented_message_names_its_org_action_and_opportunity() {
        let message = parse(DOCUMENTED.as_bytes()).unwrap();
        assert_eq!(message.organization_id.as_str(), "00DSB00000000012AA");
        assert_eq!(message.action_id.as_str(), "04kSB0000000001YAA");
        assert_eq!(message.notifications.len(), 1);
        let n = &message.notifications[0];
        assert_eq!(
            (n.id.as_str(), n.record.to_string().as_str()),
            ("04lSB0000000001YAA", "sf:Opportunity:006SB00000001GHYAY")
        );
        let notes = message.notifications("req-1");
        assert_eq!(notes[0].reason, "outbound:04kSB0000000001YAA");
        assert_eq!((notes[0].source_version.as_str(), notes[0].changed_at), ("04lSB0000000001YAA", 0));
    }

    #[test]
    fn every_supported_object_with_any_prefix_and_entities_in_text_is_read() {
        let body = with_notifications(&[
            notification("04lSB0000000001YAA", "Account", "001SB00000001ABYAY", "<sf:Name>Smith &amp; Sons &#8211; &lt;GmbH&gt;</sf:Name>"),
            notification("04lSB0000000002YAA", "Contact", "003SB00000001CD", ""),
            notification("04lSB0000000002YAA", "Lead", "00QSB00000001EF2AY", "<sf:LastModifiedDate>2026-11-25T10:00:00.000Z</sf:LastModifiedDate>"),
            r#"<Notification><Id>04lSB0000000001YAA</Id><x:sObject xmlns:x="urn:sobject.partner.soap.sforce.com" xmlns:t="http://www.w3.org/2001/XMLSchema-instance" t:type="x:Case"><x:Id><![CDATA[500SB00000001IJYAY]]></x:Id></x:sObject></Notification>"#.to_string(),
        ].concat());
        let message = parse(body.as_bytes()).unwrap();
        let keys: Vec<String> = message.notifications.iter().map(|n| n.record.to_string()).collect();
        assert_eq!(
            keys,
            [
                "sf:Account:001SB00000001ABYAY",
                "sf:Contact:003SB00000001CDYAY",
                "sf:Lead:00QSB00000001EF2AY",
                "sf:Case:500SB00000001IJYAY"
            ]
        );
        assert_eq!(message.notifications[2].last_modified, Some(1_795_600_800_000));
        assert_eq!(message.organization_id.short(), "00DSB0000000001");
    }

    #[test]
    fn any_doctype_refuses_the_message_before_an_entity_could_be_declared() {
        let attacks = [
            r#"<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>"#.to_string(),
            r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>"#.to_string(),
            format!("<!DOCTYPE soapenv:Envelope>{DOCUMENTED}").replace(r#"<?xml version="1.0" encoding="UTF-8"?>"#, ""),
            r#"<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x/>"#.to_string(),
        ];
        for xml in attacks {
            let rejection = parse(xml.as_bytes()).unwrap_err();
            assert_eq!((rejection.status, rejection.code), (400, "DTD_REFUSED"), "{xml}");
        }
    }

    #[test]
    fn an_entity_that_is_not_predefined_is_refused_in_text_and_attributes() {
        let in_text = with_notifications(&notification(
            "04lSB0000000001YAA",
            "Account",
            "001SB00000001ABYAY",
            "<sf:Name>&xxe;</sf:Name>",
        ));
        assert_eq!(parse(in_text.as_bytes()).unwrap_err().code, "UNDECLARED_ENTITY");
        let in_attribute = with_notifications(
            r#"<Notification><Id>04lSB0000000001YAA</Id><sObject xsi:type="sf:&xxe;"><sf:Id>001SB00000001ABYAY</sf:Id></sObject></Notification>"#,
        );
        assert_eq!(parse(in_attribute.as_bytes()).unwrap_err().status, 400);
    }

    #[test]
    fn unknown_objects_and_missing_or_bad_parts_are_400s_that_say_what_is_wrong() {
        let cases = [
            (
                with_notifications(&notification("04lSB0000000001YAA", "Widget__c", "a00SB0000000001YAA", "")),
                "UNKNOWN_OBJECT",
                "Widget__c",
            ),
            (
                with_notifications(&notification("04lSB0000000001YAA", "Account", "006SB00000001GHYAY", "")),
                "BAD_OUTBOUND_MESSAGE",
                "not a Account id",
            ),
            (
                with_notifications(&notification("04l' or 1=1", "Account", "001SB00000001ABYAY", "")),
                "BAD_OUTBOUND_MESSAGE",
                "Notification Id",
            ),
            (
                with_notifications(
                    r#"<Notification><Id>04lSB0000000001YAA</Id><sObject><sf:Id xmlns:sf="u">001SB00000001ABYAY</sf:Id></sObject></Notification>"#,
                ),
                "BAD_OUTBOUND_MESSAGE",
                "xsi:type",
            ),
            (
                with_notifications(
                    r#"<Notification><Id>04lSB0000000001YAA</Id><sObject xsi:type="sf:Account" xmlns:sf="u"></sObject></Notification>"#,
                ),
                "BAD_OUTBOUND_MESSAGE",
                "no sf:Id",
            ),
            (with_notifications(""), "BAD_OUTBOUND_MESSAGE", "no Notification"),
            ("<x/>".to_string(), "BAD_OUTBOUND_MESSAGE", "OrganizationId"),
            ("not xml at all".to_string(), "BAD_OUTBOUND_MESSAGE", "OrganizationId"),
            ("<a><b></a>".to_string(), "MALFORMED_XML", "malformed"),
            ("<a>".to_string(), "", "ends inside"),
            (format!("{}{}", "<a>".repeat(20), "</a>".repeat(20)), "BAD_OUTBOUND_MESSAGE", "deeper"),
            (
                with_notifications(
                    &notification("04lSB0000000001YAA", "Account", "001SB00000001ABYAY", "").repeat(101),
                ),
                "BAD_OUTBOUND_MESSAGE",
                "more than 100",
            ),
        ];
        for (xml, code, needle) in cases {
            let rejection = parse(xml.as_bytes()).unwrap_err();
            assert_eq!(rejection.status, 400, "{xml}");
            if !code.is_empty() {
                assert_eq!(rejection.code, code, "{xml}: {}", rejection.message);
            }
            assert!(rejection.message.contains(needle), "{} should mention {needle}", rejection.message);
        }
        let hundred =
            with_notifications(&notification("04lSB0000000001YAA", "Account", "001SB00000001ABYAY", "").repeat(100));
        assert_eq!(parse(hundred.as_bytes()).unwrap().notifications.len(), 100);
    }

    #[test]
    fn the_org_check_compares_15_and_18_character_ids() {
        let message = parse(DOCUMENTED.as_bytes()).unwrap();
        assert!(check_org(&message, &SalesforceId::parse("00DSB0000000001").unwrap()).is_ok());
        assert!(check_org(&message, &SalesforceId::parse("00DSB00000000012AA").unwrap()).is_ok());
        let other = check_org(&message, &SalesforceId::parse("00DSB0000000002").unwrap()).unwrap_err();
        assert_eq!((other.status, other.code), (401, "WRONG_ORG"));
    }

    #[test]
    fn the_ack_is_exactly_the_documented_envelope() {
        assert_eq!(
            ACK,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#
        );
    }
}
