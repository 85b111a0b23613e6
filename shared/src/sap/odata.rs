//! OData query building: literals are quoted here and property names validated, so nothing a record
//! carries can change a query's meaning. Pure code.

use crate::error::{Error, Result};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

/// An OData string literal: single quotes around the text, each `'` doubled.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Characters of a quoted key left as they are in a URL path: the quotes themselves and unreserved
/// characters. Everything else in the key (`/`, space, `#`, `?`, `%`, `(`, `)`, non-ASCII …) is
/// percent-encoded, so the key stays inside its one path segment.
const KEY_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'\'').remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The path of one entity by text key, e.g. `BusinessPartners('C%2F9%20%C3%9C''x')` for `C/9 Ü'x`:
/// an OData literal (quotes doubled, OData ABNF), percent-encoded as one path segment (RFC 3986 §3.3).
/// Raw, a `/` would split the path and a `#` or `?` end it (#12 item 6). B1SLayer's
/// `SLConnection.Request(resource, id)` writes `resource('id')` raw, doubling no quote and encoding no
/// `/`, so it cannot address such keys; that the Service Layer decodes `%2F` inside a key is not
/// documented, and Apache's default `AllowEncodedSlashes Off` would answer 404: docs/wire-notes.md §6.
pub fn key_path(entity_set: &str, key: &str) -> String {
    format!("{entity_set}({})", utf8_percent_encode(&quote(key), KEY_SEGMENT))
}

/// A property (or entity set) name: an ASCII letter or `_`, then letters, digits or `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property(String);

impl Property {
    /// Validates a name that comes from configuration or data.
    pub fn parse(name: &str) -> Result<Self> {
        let mut chars = name.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.len() <= 128;
        if valid {
            Ok(Self(name.to_string()))
        } else {
            Err(Error::Invalid(format!(
                "{:?} is not an OData property name",
                name.chars().take(40).collect::<String>()
            )))
        }
    }

    /// The name as written in a query.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Names written in our own code are trusted; `parse` is for anything read at run time.
impl From<&'static str> for Property {
    fn from(name: &'static str) -> Self {
        debug_assert!(Property::parse(name).is_ok(), "{name} is not a property name");
        Self(name.to_string())
    }
}

/// A rendered literal. Built only by [`super::schema`], from the property's type in `$metadata`, so no
/// literal form is written anywhere else; `null` fits every type.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal(String);

impl Literal {
    /// Text already formatted for its type by [`super::schema::EdmType::literal`].
    pub(super) fn formatted(text: String) -> Self {
        Self(text)
    }

    /// `null`
    pub fn null() -> Self {
        Self("null".into())
    }

    /// The literal as written in a filter.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A `$filter` expression, composed only from [`Property`] and [`Literal`] values.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(String);

impl Filter {
    fn compare(property: &Property, op: &str, value: impl Into<Literal>) -> Self {
        Self(format!("{} {op} {}", property.as_str(), value.into().0))
    }

    /// `property eq value`
    pub fn eq(property: &Property, value: impl Into<Literal>) -> Self {
        Self::compare(property, "eq", value)
    }

    /// `property ne value`
    pub fn ne(property: &Property, value: impl Into<Literal>) -> Self {
        Self::compare(property, "ne", value)
    }

    /// `property gt value`
    pub fn gt(property: &Property, value: impl Into<Literal>) -> Self {
        Self::compare(property, "gt", value)
    }

    /// `property ge value`
    pub fn ge(property: &Property, value: impl Into<Literal>) -> Self {
        Self::compare(property, "ge", value)
    }

    /// `property lt value`
    pub fn lt(property: &Property, value: impl Into<Literal>) -> Self {
        Self::compare(property, "lt", value)
    }

    /// `property le value`
    pub fn le(property: &Property, value: impl Into<Literal>) -> Self {
        Self::compare(property, "le", value)
    }

    /// `startswith(property, value)`
    pub fn starts_with(property: &Property, value: impl Into<Literal>) -> Self {
        Self(format!("startswith({}, {})", property.as_str(), value.into().0))
    }

    /// Rows changed at or after a watermark given as SAP returns it (`2026-11-20T00:00:00Z` or
    /// `2026-11-20`, and `10:00:00`):
    /// `(UpdateDate gt d) or ((UpdateDate eq d) and (UpdateTime ge t))`, literals typed by the schema.
    /// (`UpdateDate ge d and UpdateTime ge t` would miss later days with an earlier time.)
    pub fn updated_since(update_date: &str, update_time: &str) -> Result<Self> {
        let (day, time_of_day): (Property, Property) = ("UpdateDate".into(), "UpdateTime".into());
        let date = super::schema::literal(&day, update_date)?;
        let clock = super::schema::literal(&time_of_day, update_time)?;
        Ok(Filter::gt(&day, date.clone()).or(Filter::eq(&day, date).and(Filter::ge(&time_of_day, clock))))
    }

    /// `(self) and (other)`
    pub fn and(self, other: Filter) -> Self {
        Self(format!("({}) and ({})", self.0, other.0))
    }

    /// `(self) or (other)`
    pub fn or(self, other: Filter) -> Self {
        Self(format!("({}) or ({})", self.0, other.0))
    }

    /// `a or b or c`: a flat disjunction of comparisons (no nesting, so a long key list stays shallow).
    /// Only for terms without `and`/`or` of their own, such as [`Filter::eq`].
    pub fn any(terms: impl IntoIterator<Item = Filter>) -> Self {
        Self(terms.into_iter().map(|t| t.0).collect::<Vec<_>>().join(" or "))
    }

    /// `(a) and (b) and (c)`: every term, each in parentheses.
    pub fn all(terms: impl IntoIterator<Item = Filter>) -> Self {
        Self(terms.into_iter().map(|t| format!("({})", t.0)).collect::<Vec<_>>().join(" and "))
    }

    /// `(a) or (b) or (c)`: any term, each in parentheses.
    pub fn either(terms: impl IntoIterator<Item = Filter>) -> Self {
        Self(terms.into_iter().map(|t| format!("({})", t.0)).collect::<Vec<_>>().join(" or "))
    }

    /// `not (self)`
    pub fn negate(self) -> Self {
        Self(format!("not ({})", self.0))
    }

    /// The expression text (unencoded).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Query options for a collection read. `query()` follows every page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    filter: Option<Filter>,
    select: Vec<Property>,
    order_by: Vec<(Property, bool)>,
    top: Option<u32>,
    skip: Option<u32>,
}

/// Characters left as they are in a query value: OData syntax that servers expect verbatim.
/// Everything else (space, `&`, `+`, `#`, `%`, `=`, non-ASCII ...) is percent-encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'$')
    .remove(b',')
    .remove(b'(')
    .remove(b')')
    .remove(b'\'')
    .remove(b':')
    .remove(b'/');

impl Query {
    /// No options: every row, all properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `$filter`.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Sets `$select`.
    pub fn select<P: Into<Property>>(mut self, properties: impl IntoIterator<Item = P>) -> Self {
        self.select = properties.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an `$orderby` key.
    pub fn order_by(mut self, property: impl Into<Property>, ascending: bool) -> Self {
        self.order_by.push((property.into(), ascending));
        self
    }

    /// Sets `$top`.
    pub fn top(mut self, n: u32) -> Self {
        self.top = Some(n);
        self
    }

    /// Sets `$skip`.
    pub fn skip(mut self, n: u32) -> Self {
        self.skip = Some(n);
        self
    }

    /// The encoded query string (no leading `?`), e.g. `$filter=CardCode%20eq%20'C1'&$top=1`.
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        let mut push = |key: &str, value: String| {
            parts.push(format!("{key}={}", utf8_percent_encode(&value, QUERY_VALUE)));
        };
        if let Some(filter) = &self.filter {
            push("$filter", filter.0.clone());
        }
        if !self.select.is_empty() {
            push("$select", self.select.iter().map(Property::as_str).collect::<Vec<_>>().join(","));
        }
        if !self.order_by.is_empty() {
            let keys: Vec<String> = self
                .order_by
                .iter()
                .map(|(p, asc)| format!("{} {}", p.as_str(), if *asc { "asc" } else { "desc" }))
                .collect();
            push("$orderby", keys.join(","));
        }
        if let Some(top) = self.top {
            push("$top", top.to_string());
        }
        if let Some(skip) = self.skip {
            push("$skip", skip.to_string());
        }
        parts.join("&")
    }
}

/// Resolves a path or a `nextLink` (relative `Orders?$skip=20`, absolute-path `/b1s/v2/Orders?...`, or a
/// full URL) against the service root, refusing any other origin so the session cookie never leaves it.
pub fn resolve(root: &Url, link: &str) -> Result<Url> {
    let url = root.join(link).map_err(|e| {
        Error::Invalid(format!("SAP link {:?} is not a URL: {e}", link.chars().take(80).collect::<String>()))
    })?;
    if url.origin() != root.origin() {
        return Err(Error::Invalid(format!(
            "SAP link points to another origin ({})",
            url.origin().ascii_serialization()
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads back one OData string literal, as a server would; `None` if it is not exactly one literal.
    fn unquote(literal: &str) -> Option<String> {
        let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
        let mut out = String::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                // Inside the literal a quote must be doubled; a lone one would end it early.
                if chars.next() != Some('\'') {
                    return None;
                }
            }
            out.push(c);
        }
        Some(out)
    }

    #[test]
    fn a_text_key_stays_in_one_path_segment_whatever_it_holds() {
        assert_eq!(key_path("BusinessPartners", "C20000"), "BusinessPartners('C20000')");
        assert_eq!(key_path("BusinessPartners", "C/9 Ü'x"), "BusinessPartners('C%2F9%20%C3%9C''x')");
        assert_eq!(key_path("Items", "A#1?b=(2)%"), "Items('A%231%3Fb%3D%282%29%25')");
        let root = Url::parse("https://h:50000/b1s/v2/").unwrap();
        let url = resolve(&root, &format!("{}?$select=CardCode", key_path("BusinessPartners", "C/9 #x"))).unwrap();
        assert_eq!(url.path(), "/b1s/v2/BusinessPartners('C%2F9%20%23x')", "url keeps the escapes");
        assert_eq!(url.query(), Some("$select=CardCode"));
    }

    #[test]
    fn quotes_are_doubled_inside_a_literal() {
        assert_eq!(quote("O'Brien"), "'O''Brien'");
        assert_eq!(quote("x' or 'a' eq 'a"), "'x'' or ''a'' eq ''a'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn filters_compose_with_explicit_parentheses() {
        let code = Literal::formatted("'C20000'".into());
        let f = Filter::eq(&"CardCode".into(), code)
            .or(Filter::ge(&"DocEntry".into(), Literal::formatted("5".into())).negate());
        assert_eq!(f.as_str(), "(CardCode eq 'C20000') or (not (DocEntry ge 5))");
    }

    #[test]
    fn updated_since_compares_the_time_only_on_the_watermark_day() {
        let expected = "(UpdateDate gt 2026-11-20T00:00:00Z) or \
                        ((UpdateDate eq 2026-11-20T00:00:00Z) and (UpdateTime ge 10:00:00))";
        assert_eq!(Filter::updated_since("2026-11-20T00:00:00Z", "10:00:00").unwrap().as_str(), expected);
        assert_eq!(Filter::updated_since("2026-11-20", "10:00:00").unwrap().as_str(), expected);
        for (date, time) in [("2026-13-01", "10:00:00"), ("2026-11-20", "25:00:00"), ("x' or 1", "10:00:00"), ("", "")]
        {
            assert!(Filter::updated_since(date, time).is_err(), "{date} {time}");
        }
    }

    #[test]
    fn the_query_string_keeps_odata_syntax_and_encodes_the_rest() {
        let q = Query::new()
            .filter(Filter::eq(&"CardName".into(), Literal::formatted(quote("A&B + C#1"))))
            .select(["DocEntry", "DocNum"])
            .order_by("DocEntry", false)
            .top(1);
        assert_eq!(
            q.to_query_string(),
            "$filter=CardName%20eq%20'A%26B%20%2B%20C%231'&$select=DocEntry,DocNum&$orderby=DocEntry%20desc&$top=1"
        );
    }

    #[test]
    fn property_names_from_configuration_are_validated() {
        assert!(Property::parse("U_SF_OpportunityId").is_ok());
        for bad in ["", "1abc", "A B", "A'--", "Name eq 'x' or 1", "A/B"] {
            assert!(Property::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn next_links_resolve_against_the_service_root_in_every_form() {
        let root = Url::parse("https://sap.example:50000/b1s/v2/").unwrap();
        let resolved = |link: &str| resolve(&root, link).unwrap().to_string();
        assert_eq!(resolved("Orders?$skip=20"), "https://sap.example:50000/b1s/v2/Orders?$skip=20");
        assert_eq!(resolved("/b1s/v2/Orders?$skip=20"), "https://sap.example:50000/b1s/v2/Orders?$skip=20");
        assert_eq!(
            resolved("https://sap.example:50000/b1s/v2/Orders?$skip=20"),
            "https://sap.example:50000/b1s/v2/Orders?$skip=20"
        );
        assert!(resolve(&root, "https://evil.example/b1s/v2/Orders").is_err());
        assert!(resolve(&root, "//evil.example/x").is_err());
    }

    proptest! {
        #[test]
        fn any_text_round_trips_as_exactly_one_literal(text in ".{0,40}") {
            prop_assert_eq!(unquote(&quote(&text)), Some(text));
        }

        #[test]
        fn an_encoded_filter_value_never_contains_a_raw_separator(text in ".{0,40}") {
            let qs = Query::new().filter(Filter::eq(&"CardName".into(), Literal::formatted(quote(&text)))).to_query_string();
            let value = qs.strip_prefix("$filter=").unwrap();
            prop_assert!(!value.contains(['&', '#', ' ', '+', '=']));
        }
    }
}
