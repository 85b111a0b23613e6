//! Matching the records that already exist on both sides before the first sync (`b1force link`,
//! #17): accounts ⇄ business partners, products ⇄ items. Pure: both sides come in as [`Party`]s,
//! decisions go out; reading and writing are the command's.
//!
//! Existing links are taken first: a pair that names each other is linked; a record whose link
//! names a record that is missing, or linked elsewhere, is a conflict (never overwritten). Then the
//! rules, strongest first: each compares one key built from named fields (`tax_id`, `email`,
//! `name+postcode`…). A key shared by exactly one record on each side matches them; a key shared by
//! more (duplicates inside one system, two companies of one name) is ambiguous, and those records
//! are left to a person rather than tried against weaker rules. What no rule matched is "only in
//! Salesforce" or "only in SAP" — the first sync will create it on the other side.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One record of either side: its id, the other side's id it already names (empty: none), and its
/// fields by the names rules use (`name`, `tax_id`, `email`, `postcode`, `city`, `code`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Party {
    pub id: String,
    pub linked_to: Option<String>,
    pub fields: BTreeMap<String, String>,
}

impl Party {
    pub fn new(id: &str, linked_to: Option<&str>, fields: &[(&str, &str)]) -> Self {
        Self {
            id: id.to_string(),
            linked_to: linked_to.filter(|l| !l.trim().is_empty()).map(str::to_string),
            fields: fields
                .iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn name(&self) -> &str {
        self.fields.get("name").map_or("", String::as_str)
    }
}

/// A matching rule: the fields whose folded values, joined, make the key; and how sure a match by
/// it is. Written as the field names joined by `+` (`name+postcode`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub fields: Vec<String>,
    pub confidence: f64,
}

/// The fields a rule may name.
/// `company` is the CardCode of the partner a contact belongs to (on the Salesforce side, that of
/// the contact's account).
pub const RULE_FIELDS: [&str; 7] = ["tax_id", "email", "code", "name", "postcode", "city", "company"];

impl Rule {
    /// `tax_id`, `email`, `name+city`, …; the confidence from the fields (exact identifiers high,
    /// names lower).
    pub fn parse(text: &str) -> Result<Rule, String> {
        let fields: Vec<String> = text.split('+').map(|f| f.trim().to_ascii_lowercase()).collect();
        if let Some(unknown) = fields.iter().find(|f| !RULE_FIELDS.contains(&f.as_str())) {
            return Err(format!("link rule {text:?}: unknown field {unknown:?} (known: {})", RULE_FIELDS.join(", ")));
        }
        let confidence = if fields.iter().any(|f| f == "tax_id" || f == "code") {
            0.99
        } else if fields.iter().any(|f| f == "email") {
            0.95
        } else if fields.len() > 1 {
            0.85
        } else {
            0.6
        };
        Ok(Rule { fields, confidence })
    }

    pub fn label(&self) -> String {
        self.fields.join("+")
    }

    /// The party's key under this rule; `None` when a field is empty.
    fn key(&self, party: &Party) -> Option<String> {
        let mut parts = Vec::with_capacity(self.fields.len());
        for field in &self.fields {
            let folded = fold(field, party.fields.get(field)?);
            if folded.is_empty() {
                return None;
            }
            parts.push(folded);
        }
        Some(parts.join("\u{1f}"))
    }
}

/// The default rules for accounts ⇄ business partners.
pub fn account_rules() -> Vec<Rule> {
    ["tax_id", "email", "name+postcode", "name+city"].iter().map(|r| Rule::parse(r).expect("known fields")).collect()
}

/// The default rule for products ⇄ items: `ProductCode` = `ItemCode`.
pub fn product_rules() -> Vec<Rule> {
    vec![Rule::parse("code").expect("a known field")]
}

/// The default rules for contacts ⇄ contact persons: the e-mail address, then the name within one
/// company.
pub fn contact_rules() -> Vec<Rule> {
    ["email", "name+company"].iter().map(|r| Rule::parse(r).expect("known fields")).collect()
}

/// One field's value folded for comparison.
pub fn fold(field: &str, value: &str) -> String {
    match field {
        "name" => normalise_name(value),
        "email" => value.trim().to_lowercase(),
        // A CardCode is a key: compared as it is.
        "company" => value.trim().to_string(),
        // Identifiers and postcodes: spacing and punctuation differ between systems, not the value.
        "tax_id" | "postcode" | "code" => {
            fold_letters(value).chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase()
        }
        _ => fold_letters(value).split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// Legal-form words dropped from the end of a company name (after folding).
const LEGAL_FORMS: [&str; 30] = [
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "llc",
    "llp",
    "plc",
    "gmbh",
    "ag",
    "kg",
    "ohg",
    "ug",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "ab",
    "as",
    "oy",
    "pty",
    "sl",
    "kft",
    "se",
];

/// A company or person name folded: accents removed, case folded, punctuation to spaces, `&` to
/// `and`, trailing legal forms (`GmbH`, `Inc.`, `S.A.`, `& Co. KG`) dropped.
pub fn normalise_name(name: &str) -> String {
    let letters = fold_letters(&name.replace('&', " and "));
    // "S.A." and "B.V." fold to "s a" and "b v": join single letters before looking for the forms.
    let mut words: Vec<String> = Vec::new();
    let mut initials = String::new();
    for word in letters.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if word.chars().count() == 1 && word.chars().all(char::is_alphabetic) {
            initials.push_str(word);
            continue;
        }
        if !initials.is_empty() {
            words.push(std::mem::take(&mut initials));
        }
        words.push(word.to_string());
    }
    if !initials.is_empty() {
        words.push(initials);
    }
    while words.len() > 1 && words.last().is_some_and(|w| LEGAL_FORMS.contains(&w.as_str()) || w == "and") {
        words.pop();
    }
    words.join(" ")
}

/// Lower case with the accents of Latin letters removed (`Müller` → `muller`, `Ørsted` → `orsted`).
fn fold_letters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => out.push('a'),
            'æ' => out.push_str("ae"),
            'ç' | 'ć' | 'č' => out.push('c'),
            'ď' | 'đ' => out.push('d'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' | 'ī' => out.push('i'),
            'ł' => out.push('l'),
            'ñ' | 'ń' | 'ň' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => out.push('o'),
            'œ' => out.push_str("oe"),
            'ř' => out.push('r'),
            'ś' | 'š' | 'ş' => out.push('s'),
            'ß' => out.push_str("ss"),
            'ť' | 'ţ' => out.push('t'),
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'ź' | 'ż' | 'ž' => out.push('z'),
            other => out.push(other),
        }
    }
    out
}

/// What became of a record (or pair).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Both sides already name each other, or one does and the other names nothing yet.
    Linked,
    /// A rule matched exactly one record on each side.
    Matched,
    /// A rule found several candidates: a person decides.
    Ambiguous,
    /// A link that names a missing record or one linked elsewhere.
    Conflict,
    OnlyInSalesforce,
    OnlyInSap,
}

impl Verdict {
    pub const ALL: [Verdict; 6] = [
        Verdict::Linked,
        Verdict::Matched,
        Verdict::Ambiguous,
        Verdict::Conflict,
        Verdict::OnlyInSalesforce,
        Verdict::OnlyInSap,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Verdict::Linked => "linked",
            Verdict::Matched => "matched",
            Verdict::Ambiguous => "ambiguous",
            Verdict::Conflict => "conflict",
            Verdict::OnlyInSalesforce => "only_in_salesforce",
            Verdict::OnlyInSap => "only_in_sap",
        }
    }
}

/// One line of the review: a pair (matched, linked), a record with its candidates (ambiguous), a
/// conflict, or a record found on one side only. `write_salesforce`/`write_sap` say which side's
/// link `--apply` would write (never one that names something else).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub salesforce_id: Option<String>,
    pub sap_key: Option<String>,
    pub salesforce_name: String,
    pub sap_name: String,
    pub rule: Option<String>,
    pub confidence: Option<f64>,
    /// Ambiguous: the other side's candidates.
    pub candidates: Vec<String>,
    pub note: String,
    pub write_salesforce: bool,
    pub write_sap: bool,
}

impl Decision {
    fn one_side(verdict: Verdict, salesforce: Option<&Party>, sap: Option<&Party>, note: String) -> Self {
        Decision {
            verdict,
            salesforce_id: salesforce.map(|p| p.id.clone()),
            sap_key: sap.map(|p| p.id.clone()),
            salesforce_name: salesforce.map_or(String::new(), |p| p.name().to_string()),
            sap_name: sap.map_or(String::new(), |p| p.name().to_string()),
            rule: None,
            confidence: None,
            candidates: Vec::new(),
            note,
            write_salesforce: false,
            write_sap: false,
        }
    }

    /// A pair to link: each side is written where it names nothing yet.
    fn pair(verdict: Verdict, salesforce: &Party, sap: &Party, rule: Option<&Rule>, note: String) -> Self {
        Decision {
            rule: rule.map(Rule::label),
            confidence: Some(rule.map_or(1.0, |r| r.confidence)),
            write_salesforce: salesforce.linked_to.is_none(),
            write_sap: sap.linked_to.is_none(),
            ..Decision::one_side(verdict, Some(salesforce), Some(sap), note)
        }
    }
}

/// Decides every record of both sides: existing links, then `rules` in order, then the rest.
pub fn decide(salesforce: &[Party], sap: &[Party], rules: &[Rule]) -> Vec<Decision> {
    let sf_by_id: HashMap<&str, &Party> = salesforce.iter().map(|p| (p.id.as_str(), p)).collect();
    let sap_by_id: HashMap<&str, &Party> = sap.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut decided_sf: BTreeSet<&str> = BTreeSet::new();
    let mut decided_sap: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();

    // Existing links, from both sides.
    for party in salesforce.iter().filter(|p| p.linked_to.is_some()) {
        let code = party.linked_to.as_deref().unwrap_or_default();
        decided_sf.insert(&party.id);
        match sap_by_id.get(code) {
            Some(other) if other.linked_to.as_deref().is_none_or(|back| back == party.id) => {
                decided_sap.insert(&other.id);
                out.push(Decision::pair(Verdict::Linked, party, other, None, String::new()));
            }
            Some(other) => {
                decided_sap.insert(&other.id);
                out.push(Decision::one_side(
                    Verdict::Conflict,
                    Some(party),
                    Some(other),
                    format!("{code} is linked to {}", other.linked_to.as_deref().unwrap_or_default()),
                ))
            }
            None => out.push(Decision::one_side(
                Verdict::Conflict,
                Some(party),
                None,
                format!("names {code}, which SAP does not have"),
            )),
        }
    }
    for party in sap.iter().filter(|p| p.linked_to.is_some()) {
        if !decided_sap.insert(&party.id) {
            continue;
        }
        let id = party.linked_to.as_deref().unwrap_or_default();
        match sf_by_id.get(id) {
            Some(other) if other.linked_to.is_none() => {
                decided_sf.insert(&other.id);
                out.push(Decision::pair(Verdict::Linked, other, party, None, String::new()));
            }
            Some(other) => out.push(Decision::one_side(
                Verdict::Conflict,
                Some(other),
                Some(party),
                format!("{id} is linked to {}", other.linked_to.as_deref().unwrap_or_default()),
            )),
            None => out.push(Decision::one_side(
                Verdict::Conflict,
                None,
                Some(party),
                format!("names {id}, which Salesforce does not have"),
            )),
        }
    }

    for rule in rules {
        let mut sf_keys: BTreeMap<String, Vec<&Party>> = BTreeMap::new();
        for party in salesforce.iter().filter(|p| !decided_sf.contains(p.id.as_str())) {
            if let Some(key) = rule.key(party) {
                sf_keys.entry(key).or_default().push(party);
            }
        }
        let mut sap_keys: BTreeMap<String, Vec<&Party>> = BTreeMap::new();
        for party in sap.iter().filter(|p| !decided_sap.contains(p.id.as_str())) {
            if let Some(key) = rule.key(party) {
                sap_keys.entry(key).or_default().push(party);
            }
        }
        for (key, sf_side) in &sf_keys {
            let Some(sap_side) = sap_keys.get(key) else { continue };
            if let ([one], [other]) = (sf_side.as_slice(), sap_side.as_slice()) {
                decided_sf.insert(&one.id);
                decided_sap.insert(&other.id);
                out.push(Decision::pair(Verdict::Matched, one, other, Some(rule), String::new()));
                continue;
            }
            let note =
                format!("{} Salesforce and {} SAP records share this {}", sf_side.len(), sap_side.len(), rule.label());
            for party in sf_side {
                decided_sf.insert(&party.id);
                out.push(Decision {
                    rule: Some(rule.label()),
                    candidates: sap_side.iter().map(|p| p.id.clone()).collect(),
                    ..Decision::one_side(Verdict::Ambiguous, Some(party), None, note.clone())
                });
            }
            for party in sap_side {
                decided_sap.insert(&party.id);
                out.push(Decision {
                    rule: Some(rule.label()),
                    candidates: sf_side.iter().map(|p| p.id.clone()).collect(),
                    ..Decision::one_side(Verdict::Ambiguous, None, Some(party), note.clone())
                });
            }
        }
    }

    for party in salesforce.iter().filter(|p| !decided_sf.contains(p.id.as_str())) {
        out.push(Decision::one_side(Verdict::OnlyInSalesforce, Some(party), None, String::new()));
    }
    for party in sap.iter().filter(|p| !decided_sap.contains(p.id.as_str())) {
        out.push(Decision::one_side(Verdict::OnlyInSap, None, Some(party), String::new()));
    }
    out
}

/// An operator's corrected review: rows with `decision` = `link` become the pairs to link (each
/// checked again: both records exist and neither names another); every other row is left alone.
pub fn from_corrections(rows: &[Correction], salesforce: &[Party], sap: &[Party]) -> Vec<Decision> {
    let sf_by_id: HashMap<&str, &Party> = salesforce.iter().map(|p| (p.id.as_str(), p)).collect();
    let sap_by_id: HashMap<&str, &Party> = sap.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut out = Vec::new();
    let mut taken_sf: BTreeSet<&str> = BTreeSet::new();
    let mut taken_sap: BTreeSet<&str> = BTreeSet::new();
    for row in rows.iter().filter(|r| r.link) {
        let (Some(one), Some(other)) = (sf_by_id.get(row.salesforce_id.as_str()), sap_by_id.get(row.sap_key.as_str()))
        else {
            let note = format!("{} / {}: not found on both sides", row.salesforce_id, row.sap_key);
            out.push(Decision {
                salesforce_id: Some(row.salesforce_id.clone()),
                sap_key: Some(row.sap_key.clone()),
                ..Decision::one_side(Verdict::Conflict, None, None, note)
            });
            continue;
        };
        let elsewhere = one.linked_to.as_deref().is_some_and(|l| l != other.id)
            || other.linked_to.as_deref().is_some_and(|l| l != one.id);
        let twice = !taken_sf.insert(&one.id) | !taken_sap.insert(&other.id);
        if elsewhere || twice {
            let note = if twice { "named twice in the corrections" } else { "already linked to another record" };
            out.push(Decision::one_side(Verdict::Conflict, Some(one), Some(other), note.into()));
            continue;
        }
        let verdict =
            if one.linked_to.is_some() || other.linked_to.is_some() { Verdict::Linked } else { Verdict::Matched };
        let operator = Rule { fields: vec!["operator".into()], confidence: 1.0 };
        out.push(Decision::pair(verdict, one, other, Some(&operator), String::new()));
    }
    out
}

/// One row of a corrected review CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub salesforce_id: String,
    pub sap_key: String,
    /// The `decision` column says `link`.
    pub link: bool,
}

/// How many decisions of each verdict.
pub fn totals(decisions: &[Decision]) -> BTreeMap<&'static str, usize> {
    let mut totals: BTreeMap<&'static str, usize> = Verdict::ALL.iter().map(|v| (v.code(), 0)).collect();
    for decision in decisions {
        *totals.entry(decision.verdict.code()).or_default() += 1;
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, link: Option<&str>, fields: &[(&str, &str)]) -> Party {
        Party::new(id, link, fields)
    }

    fn verdict_of<'d>(decisions: &'d [Decision], sf: Option<&str>, sap: Option<&str>) -> &'d Decision {
        decisions
            .iter()
            .find(|d| d.salesforce_id.as_deref() == sf && d.sap_key.as_deref() == sap)
            .unwrap_or_else(|| panic!("no decision for {sf:?} / {sap:?} in {decisions:#?}"))
    }

    #[test]
    fn names_fold_accents_case_punctuation_and_legal_forms() {
        assert_eq!(normalise_name("Müller GmbH"), "muller");
        assert_eq!(normalise_name("MULLER gmbh."), "muller");
        assert_eq!(normalise_name("Acme, Inc."), "acme");
        assert_eq!(normalise_name("Société Générale S.A."), "societe generale");
        assert_eq!(normalise_name("Smith & Co. KG"), "smith");
        assert_eq!(normalise_name("Ørsted A/S"), "orsted");
        assert_eq!(normalise_name("Co"), "co", "a name that is only a legal form stays");
        assert_eq!(fold("tax_id", "DE 123.456-789"), "DE123456789");
        assert_eq!(fold("postcode", "sw1a 1aa"), "SW1A1AA");
        assert_eq!(fold("email", " Info@Acme.COM "), "info@acme.com");
        assert!(Rule::parse("name+zip").is_err());
        assert_eq!(Rule::parse("Name + City").unwrap().label(), "name+city");
    }

    #[test]
    fn exact_keys_match_first_then_normalised_names_and_the_rest_is_one_sided() {
        let sf = [
            account("001A", None, &[("name", "Acme Inc."), ("tax_id", "DE111")]),
            account("001B", None, &[("name", "Müller GmbH"), ("postcode", "10115"), ("city", "Berlin")]),
            account("001C", None, &[("name", "Zeta Ltd"), ("email", "AP@zeta.example")]),
            account("001D", None, &[("name", "Only Here")]),
        ];
        let sap = [
            Party::new("C1", None, &[("name", "ACME Corporation"), ("tax_id", "de 111")]),
            Party::new("C2", None, &[("name", "MULLER"), ("postcode", "10115"), ("city", "Berlin-Mitte")]),
            Party::new("C3", None, &[("name", "Zeta Limited"), ("email", "ap@zeta.example")]),
            Party::new("C4", None, &[("name", "Only There")]),
        ];
        let decisions = decide(&sf, &sap, &account_rules());
        let acme = verdict_of(&decisions, Some("001A"), Some("C1"));
        assert_eq!((acme.verdict, acme.rule.as_deref()), (Verdict::Matched, Some("tax_id")));
        assert!(acme.write_salesforce && acme.write_sap);
        assert_eq!(verdict_of(&decisions, Some("001B"), Some("C2")).rule.as_deref(), Some("name+postcode"));
        assert_eq!(verdict_of(&decisions, Some("001C"), Some("C3")).rule.as_deref(), Some("email"));
        assert_eq!(verdict_of(&decisions, Some("001D"), None).verdict, Verdict::OnlyInSalesforce);
        assert_eq!(verdict_of(&decisions, None, Some("C4")).verdict, Verdict::OnlyInSap);
        assert_eq!(decisions.len(), 5);
        assert_eq!(totals(&decisions)["matched"], 3);
    }

    #[test]
    fn duplicates_inside_one_system_are_ambiguous_and_not_tried_against_weaker_rules() {
        let sf = [account("001A", None, &[("name", "Globex"), ("city", "Springfield"), ("email", "x@globex.example")])];
        let sap = [
            Party::new("C1", None, &[("name", "Globex"), ("city", "Springfield")]),
            Party::new("C2", None, &[("name", "GLOBEX S.A."), ("city", "springfield")]),
            Party::new("C3", None, &[("name", "Globex"), ("city", "Shelbyville"), ("email", "y@globex.example")]),
        ];
        let decisions = decide(&sf, &sap, &account_rules());
        let mine = verdict_of(&decisions, Some("001A"), None);
        assert_eq!(mine.verdict, Verdict::Ambiguous);
        assert_eq!(mine.candidates, ["C1", "C2"]);
        assert!(!mine.write_salesforce && !mine.write_sap);
        assert_eq!(verdict_of(&decisions, None, Some("C1")).verdict, Verdict::Ambiguous);
        assert_eq!(verdict_of(&decisions, None, Some("C3")).verdict, Verdict::OnlyInSap, "a name alone is no rule");
    }

    #[test]
    fn existing_links_are_kept_completed_or_reported_as_conflicts_never_overwritten() {
        let sf = [
            account("001A", Some("C1"), &[("name", "Both ways")]),
            account("001B", Some("C2"), &[("name", "One way")]),
            account("001C", Some("C3"), &[("name", "Taken")]),
            account("001D", Some("C9"), &[("name", "Gone")]),
            account("001E", None, &[("name", "Named from SAP")]),
            account("001X", None, &[("name", "Taken"), ("tax_id", "T1")]),
        ];
        let sap = [
            Party::new("C1", Some("001A"), &[("name", "Both ways")]),
            Party::new("C2", None, &[("name", "One way")]),
            Party::new("C3", Some("001Z"), &[("name", "Taken"), ("tax_id", "T1")]),
            Party::new("C5", Some("001E"), &[("name", "Named from SAP")]),
        ];
        let decisions = decide(&sf, &sap, &account_rules());
        let both = verdict_of(&decisions, Some("001A"), Some("C1"));
        assert_eq!((both.verdict, both.write_salesforce, both.write_sap), (Verdict::Linked, false, false));
        let one = verdict_of(&decisions, Some("001B"), Some("C2"));
        assert_eq!((one.verdict, one.write_salesforce, one.write_sap), (Verdict::Linked, false, true));
        let from_sap = verdict_of(&decisions, Some("001E"), Some("C5"));
        assert_eq!((from_sap.verdict, from_sap.write_salesforce, from_sap.write_sap), (Verdict::Linked, true, false));
        let taken = verdict_of(&decisions, Some("001C"), Some("C3"));
        assert_eq!(taken.verdict, Verdict::Conflict);
        assert!(taken.note.contains("001Z"), "{}", taken.note);
        assert_eq!(verdict_of(&decisions, Some("001D"), None).verdict, Verdict::Conflict);
        // C3 is linked elsewhere: a record matching it by tax id is not matched to it.
        assert_eq!(verdict_of(&decisions, Some("001X"), None).verdict, Verdict::OnlyInSalesforce);
        assert!(decisions.iter().all(|d| !(d.verdict == Verdict::Conflict && (d.write_salesforce || d.write_sap))));
    }
}
