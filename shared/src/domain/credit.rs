//! Credit alerts that reach a person (issue #14 item 7): a customer's credit standing, and when a
//! change of it is news for the owners of its open deals.

use serde_json::Value;

/// How a customer stands against its credit, worst last (the order is the escalation order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CreditLevel {
    /// Below the alert threshold, or no credit limit set.
    Clear,
    /// Balance at or above the threshold share of the credit limit.
    Threshold,
    /// The business partner is frozen (`Frozen = tYES`): SAP blocks its documents.
    Frozen,
}

impl CreditLevel {
    /// The level of a business partner row (`CreditLimit`, `CurrentAccountBalance`, `Frozen`)
    /// against `threshold` (a share of the limit, e.g. 0.9).
    pub fn of(row: &serde_json::Map<String, Value>, threshold: f64) -> Self {
        if row.get("Frozen").and_then(Value::as_str) == Some("tYES") {
            return Self::Frozen;
        }
        let number = |p: &str| row.get(p).and_then(Value::as_f64).unwrap_or(0.0);
        let limit = number("CreditLimit");
        if limit > 0.0 && number("CurrentAccountBalance") / limit >= threshold { Self::Threshold } else { Self::Clear }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clear => "clear",
            Self::Threshold => "threshold",
            Self::Frozen => "frozen",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Clear, Self::Threshold, Self::Frozen].into_iter().find(|l| l.as_str() == text)
    }

    /// Whether going from `previous` (the level last seen) to `self` is news: a customer crossing
    /// the threshold or becoming frozen. Staying alerted, or easing from frozen to the threshold,
    /// tells nobody again; falling clear re-arms the alert. A customer seen for the first time
    /// (`None`: a first sync, an initial load) sets the baseline and is no news: its account's
    /// `SAP_Credit_Alert__c` shows its standing, and a first load rings no bells by the thousand.
    pub fn is_news_after(self, previous: Option<Self>) -> bool {
        previous.is_some_and(|previous| self > previous)
    }
}

#[cfg(test)]
mod tests {
    use super::CreditLevel::{self, *};
    use serde_json::json;

    fn level(row: serde_json::Value) -> CreditLevel {
        CreditLevel::of(row.as_object().unwrap(), 0.9)
    }

    #[test]
    fn the_level_follows_balance_over_limit_and_the_frozen_flag() {
        assert_eq!(level(json!({"CreditLimit": 1000.0, "CurrentAccountBalance": 899.99})), Clear);
        assert_eq!(level(json!({"CreditLimit": 1000.0, "CurrentAccountBalance": 900.0})), Threshold);
        assert_eq!(level(json!({"CreditLimit": 0.0, "CurrentAccountBalance": 5000.0})), Clear, "no limit, no alert");
        assert_eq!(level(json!({"CreditLimit": 0.0, "Frozen": "tYES"})), Frozen);
        assert_eq!(level(json!({"CreditLimit": 1000.0, "CurrentAccountBalance": 10.0, "Frozen": "tNO"})), Clear);
    }

    #[test]
    fn only_crossing_upwards_is_news_and_falling_clear_re_arms() {
        assert!(!Threshold.is_news_after(None), "the first sight is the baseline");
        assert!(Threshold.is_news_after(Some(Clear)));
        assert!(Frozen.is_news_after(Some(Threshold)));
        assert!(!Threshold.is_news_after(Some(Threshold)));
        assert!(!Threshold.is_news_after(Some(Frozen)));
        assert!(!Clear.is_news_after(None));
        assert_eq!(CreditLevel::parse("frozen"), Some(Frozen));
        assert_eq!(CreditLevel::parse("bogus"), None);
    }
}
