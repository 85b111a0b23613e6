//! Building SOQL safely: literals are always quoted here, ids are always validated [`SalesforceId`]s.

use crate::domain::SalesforceId;

/// A SOQL string literal, quotes included, with `\`, `'`, `"` and control characters escaped.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `('id1','id2',...)` for `WHERE Id IN ...`; ids are validated by construction, so no escaping is needed.
pub fn in_list(ids: &[SalesforceId]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("'{}'", id.as_str())).collect();
    format!("({})", quoted.join(","))
}

/// Checks an object or field API name (`Account`, `SAP_CardCode__c`) before it goes into a query or a URL.
pub fn is_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 80
}

/// SOQL follows at most five parent relationships in one field path (SOQL and SOSL Reference,
/// "Relationship Query Limits").
const MAX_PATH_SEGMENTS: usize = 6;

/// Checks a field path (`Discount`, `Product2.SAP_TaxCode__c`, `Opportunity.Account.Type`): API
/// names joined by dots, at most five relationships deep.
pub fn is_field_path(path: &str) -> bool {
    let segments: Vec<&str> = path.split('.').collect();
    segments.len() <= MAX_PATH_SEGMENTS && segments.iter().all(|s| is_api_name(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn field_paths_are_api_names_joined_by_dots_at_most_five_relationships_deep() {
        for good in ["Discount", "Product2.SAP_TaxCode__c", "Opportunity.Account.Type", "A.B.C.D.E.F"] {
            assert!(is_field_path(good), "{good}");
        }
        for bad in ["", "Product2.", ".Name", "A..B", "A.B.C.D.E.F.G", "Name, Id", "Account.Name'"] {
            assert!(!is_field_path(bad), "{bad}");
        }
    }

    #[test]
    fn quotes_and_backslashes_are_escaped_so_the_literal_cannot_end_early() {
        assert_eq!(quote("O'Brien"), r"'O\'Brien'");
        assert_eq!(quote(r"a\' OR Name != 'x"), r"'a\\\' OR Name != \'x'");
        assert_eq!(quote("line\nbreak\t\"q\""), r#"'line\nbreak\t\"q\"'"#);
    }

    #[test]
    fn in_lists_hold_the_18_character_form() {
        let ids = [SalesforceId::parse("006SM0000001Tb3").unwrap(), SalesforceId::parse("001SM0000000iibYAA").unwrap()];
        assert_eq!(in_list(&ids), "('006SM0000001Tb3YAE','001SM0000000iibYAA')");
    }

    #[test]
    fn api_names_are_letters_digits_and_underscores() {
        assert!(is_api_name("SAP_CardCode__c") && is_api_name("Account"));
        for bad in ["", "1Account", "Account/../x", "Name'", "A B", "Account.Name"] {
            assert!(!is_api_name(bad), "{bad:?}");
        }
    }

    /// Decodes a quoted literal the way SOQL does; the inverse of `quote`.
    fn unquote(literal: &str) -> Option<String> {
        let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(match chars.next()? {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    other => other,
                }),
                // An unescaped quote inside would end the literal early.
                '\'' => return None,
                c => out.push(c),
            }
        }
        Some(out)
    }

    proptest! {
        #[test]
        fn any_text_round_trips_through_a_quoted_literal(value in any::<String>()) {
            prop_assert_eq!(unquote(&quote(&value)), Some(value));
        }

        #[test]
        fn a_quoted_literal_never_contains_an_unescaped_quote(value in "[a-z'\\\\ ]{0,30}") {
            let quoted = quote(&value);
            let inner = &quoted[1..quoted.len() - 1];
            let mut escaped = false;
            for c in inner.chars() {
                prop_assert!(escaped || c != '\'', "unescaped quote in {}", quoted);
                escaped = !escaped && c == '\\';
            }
        }
    }
}
