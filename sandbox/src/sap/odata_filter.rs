//! The `$filter` subset the Service Layer supports: `eq ne gt ge lt le`, `and or not`, parentheses,
//! `startswith`/`endswith`/`contains`/`substringof`, string, number, date, time and `null` literals.
//!
//! Parsing never panics: every malformed input becomes a [`FilterError`] the handler turns into a 400.
//! Evaluation borrows from the row and the literals: filtering a big table allocates nothing per row.

use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

/// How deep parentheses and `not` may nest. A guard against stack exhaustion on hostile input, not a
/// documented Service Layer limit [U]; long `or`/`and` chains do not nest and are not limited.
const MAX_DEPTH: usize = 64;

/// Why a `$filter` was rejected (shown to the client in the error body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A chain `a or b or c` is one node, so a 100-term key batch is flat, not 100 levels deep.
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Compare(CompareOp, Operand, Operand),
    Call(Function, Operand, Operand),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A boolean string function; arguments are normalised to (haystack, needle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    StartsWith,
    EndsWith,
    Contains,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Property(String),
    Literal(Literal),
}

/// A literal value in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    /// `2024-01-01`, `2024-01-01T00:00:00Z`, `datetime'2024-01-01T00:00:00'`, normalised to
    /// `YYYY-MM-DDTHH:MM:SS` and compared as dates against date-like strings; the form as written is kept
    /// for the type check against `$metadata`.
    Date(String, DateForm),
    /// `13:00:00` unquoted.
    Time(String),
    Bool(bool),
    Null,
    /// `SAPB1.BoStatus'bost_Open'`: the qualified enum type and the member name.
    Enum(String, String),
}

/// How a date literal was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateForm {
    /// `2026-11-20`: an OData v4 `Edm.Date` literal.
    Day,
    /// `2026-11-20T00:00:00Z`: an OData v4 `Edm.DateTimeOffset` literal.
    Offset,
    /// `2026-11-20T00:00:00` (no zone) or v3 `datetime'...'`: no OData v4 literal.
    Local,
}

impl Literal {
    /// The literal for error texts.
    pub fn describe(&self) -> String {
        match self {
            Literal::Text(s) => format!("'{}'", s.replace('\'', "''")),
            Literal::Number(n) => n.to_string(),
            Literal::Date(d, DateForm::Day) => d.get(..10).unwrap_or(d).to_string(),
            Literal::Date(d, DateForm::Offset) => format!("{d}Z"),
            Literal::Date(d, DateForm::Local) => d.clone(),
            Literal::Time(t) => t.clone(),
            Literal::Bool(b) => b.to_string(),
            Literal::Null => "null".into(),
            Literal::Enum(t, m) => format!("{t}'{m}'"),
        }
    }
}

impl Expr {
    /// Every property name the expression reads, so the caller can reject unknown ones.
    pub fn properties(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_properties(&mut out);
        out
    }

    fn collect_properties<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Or(terms) | Expr::And(terms) => terms.iter().for_each(|t| t.collect_properties(out)),
            Expr::Not(a) => a.collect_properties(out),
            Expr::Compare(_, a, b) | Expr::Call(_, a, b) => {
                for operand in [a, b] {
                    if let Operand::Property(name) = operand {
                        out.push(name);
                    }
                }
            }
        }
    }

    /// True when `row` (a JSON object) satisfies the expression.
    pub fn matches(&self, row: &Value) -> bool {
        match self {
            Expr::Or(terms) => terms.iter().any(|t| t.matches(row)),
            Expr::And(terms) => terms.iter().all(|t| t.matches(row)),
            Expr::Not(a) => !a.matches(row),
            Expr::Compare(op, a, b) => compare(*op, scalar(a, row), scalar(b, row)),
            Expr::Call(function, haystack, needle) => {
                let (Some(haystack), Some(needle)) = (text(haystack, row), text(needle, row)) else {
                    return false;
                };
                match function {
                    Function::StartsWith => haystack.starts_with(needle),
                    Function::EndsWith => haystack.ends_with(needle),
                    Function::Contains => haystack.contains(needle),
                }
            }
        }
    }

    /// The literals of a filter made only of `<key> eq <literal>` terms joined by `or`, in order;
    /// `None` for any other shape.
    pub fn key_literals(&self, key: &str) -> Option<Vec<&Literal>> {
        let mut out = Vec::new();
        self.collect_key_literals(key, &mut out).then_some(out)
    }

    fn collect_key_literals<'a>(&'a self, key: &str, out: &mut Vec<&'a Literal>) -> bool {
        match self {
            Expr::Or(terms) => terms.iter().all(|t| t.collect_key_literals(key, out)),
            Expr::Compare(CompareOp::Eq, Operand::Property(name), Operand::Literal(literal)) if name == key => {
                out.push(literal);
                true
            }
            _ => false,
        }
    }
}

/// `row.<property> <op> <literal>`, exactly as a `$filter` term of that shape evaluates it.
pub fn holds(op: CompareOp, row: &Value, property: &str, literal: &Literal) -> bool {
    compare(op, json_scalar(row.get(property)), literal_scalar(literal))
}

/// Parses a decoded `$filter` value.
pub fn parse(input: &str) -> Result<Expr, FilterError> {
    let tokens = tokenize(input)?;
    let mut parser = Parser { tokens, pos: 0, depth: 0 };
    let expr = parser.or_expr()?;
    match parser.peek() {
        None => Ok(expr),
        Some(token) => Err(FilterError(format!("unexpected {} after the end of the expression", token.describe()))),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Text(String),
    Number(f64),
    Date(String, DateForm),
    Time(String),
    Enum(String, String),
    LParen,
    RParen,
    Comma,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Ident(s) => format!("'{s}'"),
            Token::Text(s) => format!("string '{s}'"),
            Token::Number(n) => format!("number {n}"),
            Token::Date(s, _) | Token::Time(s) => format!("'{s}'"),
            Token::Enum(t, m) => format!("{t}'{m}'"),
            Token::LParen => "'('".into(),
            Token::RParen => "')'".into(),
            Token::Comma => "','".into(),
        }
    }
}

fn tokenize(input: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '\'' => {
                let (text, next) = quoted(&chars, i)?;
                tokens.push(Token::Text(text));
                i = next;
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], '.' | ':' | '-' | 'T' | 'Z'))
                {
                    i += 1;
                }
                let raw: String = chars[start..i].iter().collect();
                tokens.push(number_like(&raw)?);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                // A qualified name (`SAPB1.BoStatus`) continues over dots followed by a letter.
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || chars[i] == '_'
                        || (chars[i] == '.' && chars.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic())))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                // `datetime'...'` (OData v3 style) is a date literal, not a property followed by a string.
                if word.eq_ignore_ascii_case("datetime") && chars.get(i) == Some(&'\'') {
                    let (text, next) = quoted(&chars, i)?;
                    let date = normalize_date(&text)
                        .ok_or_else(|| FilterError(format!("datetime'{text}' is not a valid date")))?;
                    tokens.push(Token::Date(date, DateForm::Local));
                    i = next;
                } else if word.contains('.') && chars.get(i) == Some(&'\'') {
                    // OData v4 enum literal: `Namespace.EnumType'Member'`.
                    let (member, next) = quoted(&chars, i)?;
                    tokens.push(Token::Enum(word, member));
                    i = next;
                } else {
                    tokens.push(Token::Ident(word));
                }
            }
            other => {
                return Err(FilterError(format!("unexpected character '{other}' at position {i}")));
            }
        }
    }
    Ok(tokens)
}

/// Reads a single-quoted string starting at `start`, where `''` stands for one quote.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), FilterError> {
    let mut text = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(FilterError(format!("unterminated string literal at position {start}")));
            }
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                text.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((text, i + 1)),
            Some(c) => {
                text.push(*c);
                i += 1;
            }
        }
    }
}

fn number_like(raw: &str) -> Result<Token, FilterError> {
    if let Some(date) = normalize_date(raw) {
        let form = if !raw.contains('T') {
            DateForm::Day
        } else if raw.ends_with('Z') {
            DateForm::Offset
        } else {
            DateForm::Local
        };
        return Ok(Token::Date(date, form));
    }
    if is_time(raw) {
        return Ok(Token::Time(raw.to_string()));
    }
    raw.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Token::Number)
        .ok_or_else(|| FilterError(format!("'{raw}' is not a number, date or time")))
}

/// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` or the same with a trailing `Z` → `YYYY-MM-DDTHH:MM:SS`.
pub fn normalize_date(raw: &str) -> Option<String> {
    date_parts(raw).map(|(date, time)| format!("{date}T{time}"))
}

/// The day and time of a date-like text (time `00:00:00` when absent), borrowed from it.
fn date_parts(raw: &str) -> Option<(&str, &str)> {
    let raw = raw.strip_suffix('Z').unwrap_or(raw);
    let (date, time) = raw.split_once('T').unwrap_or((raw, "00:00:00"));
    let b = date.as_bytes();
    let date_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    (date_ok && is_time(time)).then_some((date, time))
}

/// True for text a filter compares as a date (`2026-11-25`, `2026-11-25T00:00:00Z`, ...).
pub fn is_date_like(raw: &str) -> bool {
    date_parts(raw).is_some()
}

fn is_time(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.len() == 8
        && b[2] == b':'
        && b[5] == b':'
        && b.iter().enumerate().all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Parentheses and `not` currently open.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(word)) if word.eq_ignore_ascii_case(keyword))
    }

    fn expect(&mut self, wanted: Token) -> Result<(), FilterError> {
        match self.next() {
            Some(token) if token == wanted => Ok(()),
            Some(token) => Err(FilterError(format!("expected {} but found {}", wanted.describe(), token.describe()))),
            None => Err(FilterError(format!("expected {} but the expression ended", wanted.describe()))),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut terms = vec![self.and_expr()?];
        while self.at_keyword("or") {
            self.pos += 1;
            terms.push(self.and_expr()?);
        }
        Ok(if terms.len() == 1 { terms.swap_remove(0) } else { Expr::Or(terms) })
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut terms = vec![self.unary()?];
        while self.at_keyword("and") {
            self.pos += 1;
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 { terms.swap_remove(0) } else { Expr::And(terms) })
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.at_keyword("not") {
            self.pos += 1;
            let inner = self.nested(Self::unary)?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let inner = self.nested(Self::or_expr)?;
            self.expect(Token::RParen)?;
            return Ok(inner);
        }
        if let Some(call) = self.function_call()? {
            return Ok(call);
        }
        let left = self.operand()?;
        let op = self.compare_op()?;
        let right = self.operand()?;
        Ok(Expr::Compare(op, left, right))
    }

    /// Parses one nesting level deeper, refusing more than [`MAX_DEPTH`] levels.
    fn nested(&mut self, parse: fn(&mut Self) -> Result<Expr, FilterError>) -> Result<Expr, FilterError> {
        if self.depth >= MAX_DEPTH {
            return Err(FilterError(format!("the expression nests deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let inner = parse(self);
        self.depth -= 1;
        inner
    }

    fn function_call(&mut self) -> Result<Option<Expr>, FilterError> {
        let Some(Token::Ident(name)) = self.peek() else {
            return Ok(None);
        };
        if self.tokens.get(self.pos + 1) != Some(&Token::LParen) {
            return Ok(None);
        }
        let name = name.to_ascii_lowercase();
        let (function, needle_first) = match name.as_str() {
            "startswith" => (Function::StartsWith, false),
            "endswith" => (Function::EndsWith, false),
            "contains" => (Function::Contains, false),
            "substringof" => (Function::Contains, true),
            other => return Err(FilterError(format!("function '{other}' is not supported"))),
        };
        self.pos += 2;
        let first = self.operand()?;
        self.expect(Token::Comma)?;
        let second = self.operand()?;
        self.expect(Token::RParen)?;
        let (haystack, needle) = if needle_first { (second, first) } else { (first, second) };
        // Real servers accept `startswith(...) eq true`; treat it as the bare call.
        if self.at_keyword("eq") && matches!(self.tokens.get(self.pos + 1), Some(Token::Ident(w)) if w == "true") {
            self.pos += 2;
        }
        Ok(Some(Expr::Call(function, haystack, needle)))
    }

    fn compare_op(&mut self) -> Result<CompareOp, FilterError> {
        let op = match self.next() {
            Some(Token::Ident(word)) => match word.to_ascii_lowercase().as_str() {
                "eq" => CompareOp::Eq,
                "ne" => CompareOp::Ne,
                "gt" => CompareOp::Gt,
                "ge" => CompareOp::Ge,
                "lt" => CompareOp::Lt,
                "le" => CompareOp::Le,
                _ => {
                    return Err(FilterError(format!("expected a comparison operator but found '{word}'")));
                }
            },
            Some(token) => {
                return Err(FilterError(format!("expected a comparison operator but found {}", token.describe())));
            }
            None => {
                return Err(FilterError("expected a comparison operator but the expression ended".into()));
            }
        };
        Ok(op)
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        match self.next() {
            Some(Token::Text(s)) => Ok(Operand::Literal(Literal::Text(s))),
            Some(Token::Number(n)) => Ok(Operand::Literal(Literal::Number(n))),
            Some(Token::Date(d, form)) => Ok(Operand::Literal(Literal::Date(d, form))),
            Some(Token::Enum(t, m)) => Ok(Operand::Literal(Literal::Enum(t, m))),
            Some(Token::Time(t)) => Ok(Operand::Literal(Literal::Time(t))),
            Some(Token::Ident(word)) => Ok(match word.as_str() {
                "null" => Operand::Literal(Literal::Null),
                "true" => Operand::Literal(Literal::Bool(true)),
                "false" => Operand::Literal(Literal::Bool(false)),
                "and" | "or" | "not" | "eq" | "ne" | "gt" | "ge" | "lt" | "le" => {
                    return Err(FilterError(format!("expected a property or a value but found '{word}'")));
                }
                _ => Operand::Property(word),
            }),
            Some(token) => Err(FilterError(format!("expected a property or a value but found {}", token.describe()))),
            None => Err(FilterError("expected a property or a value but the expression ended".into())),
        }
    }
}

/// Comparable form of either side: null, number, bool, date-time (day, time) or text.
#[derive(Debug)]
enum Scalar<'a> {
    Null,
    Number(f64),
    Bool(bool),
    DateTime(&'a str, &'a str),
    Text(Cow<'a, str>),
}

impl<'a> Scalar<'a> {
    /// The (day, time) of a date literal or of date-like text.
    fn as_date(&self) -> Option<(&'a str, &'a str)> {
        match self {
            Scalar::DateTime(day, time) => Some((day, time)),
            Scalar::Text(Cow::Borrowed(text)) => date_parts(text),
            _ => None,
        }
    }
}

fn scalar<'a>(operand: &'a Operand, row: &'a Value) -> Scalar<'a> {
    match operand {
        Operand::Property(name) => json_scalar(row.get(name)),
        Operand::Literal(literal) => literal_scalar(literal),
    }
}

fn json_scalar(value: Option<&Value>) -> Scalar<'_> {
    match value {
        None | Some(Value::Null) => Scalar::Null,
        Some(Value::Number(n)) => Scalar::Number(n.as_f64().unwrap_or(f64::NAN)),
        Some(Value::Bool(b)) => Scalar::Bool(*b),
        Some(Value::String(s)) => Scalar::Text(Cow::Borrowed(s)),
        Some(other) => Scalar::Text(Cow::Owned(other.to_string())),
    }
}

fn literal_scalar(literal: &Literal) -> Scalar<'_> {
    match literal {
        Literal::Null => Scalar::Null,
        Literal::Number(n) => Scalar::Number(*n),
        Literal::Bool(b) => Scalar::Bool(*b),
        // An enum member compares with the member name the row holds.
        Literal::Text(s) | Literal::Time(s) | Literal::Enum(_, s) => Scalar::Text(Cow::Borrowed(s)),
        // Date literals are stored normalised, so they always split.
        Literal::Date(d, _) => {
            date_parts(d).map_or(Scalar::Text(Cow::Borrowed(d)), |(day, time)| Scalar::DateTime(day, time))
        }
    }
}

fn compare(op: CompareOp, left: Scalar<'_>, right: Scalar<'_>) -> bool {
    let (left, right) = unify(left, right);
    let ordering = match (&left, &right) {
        (Scalar::Null, Scalar::Null) => Some(Ordering::Equal),
        (Scalar::Null, _) | (_, Scalar::Null) => None,
        (Scalar::Number(a), Scalar::Number(b)) => a.partial_cmp(b),
        (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
        (Scalar::DateTime(a, b), Scalar::DateTime(c, d)) => Some((a, b).cmp(&(c, d))),
        // B1 on SQL Server compares text case-insensitively (see `entities::collate`).
        (Scalar::Text(a), Scalar::Text(b)) => Some(super::entities::collate(a, b)),
        _ => None,
    };
    match (op, ordering) {
        (CompareOp::Ne, None) => true,
        (_, None) => false,
        (CompareOp::Eq, Some(o)) => o == Ordering::Equal,
        (CompareOp::Ne, Some(o)) => o != Ordering::Equal,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
    }
}

/// Dates are stored as `2024-01-01T00:00:00Z` but filtered as `2024-01-01`, `'2024-01-01'` or
/// `datetime'...'`: when both sides are date-like, compare both as dates.
fn unify<'a>(left: Scalar<'a>, right: Scalar<'a>) -> (Scalar<'a>, Scalar<'a>) {
    match (left.as_date(), right.as_date()) {
        (Some((a, b)), Some((c, d))) => (Scalar::DateTime(a, b), Scalar::DateTime(c, d)),
        _ => (left, right),
    }
}

fn text<'a>(operand: &'a Operand, row: &'a Value) -> Option<&'a str> {
    match operand {
        Operand::Property(name) => row.get(name)?.as_str(),
        Operand::Literal(Literal::Text(s)) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row() -> Value {
        json!({"CardCode": "C20000", "CardName": "O'Brien Traders", "CreditLimit": 5000.0,
               "UpdateDate": "2024-03-05T00:00:00Z", "UpdateTime": "13:14:45", "Frozen": "tNO", "Phone1": null})
    }

    fn keeps(filter: &str) -> bool {
        parse(filter).unwrap_or_else(|e| panic!("{filter}: {}", e.0)).matches(&row())
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // false and false or true = (false and false) or true = true; the wrong grouping gives false.
        assert!(keeps("CardCode eq 'X' and CardCode eq 'Y' or CardCode eq 'C20000'"));
        assert!(!keeps("CardCode eq 'X' and (CardCode eq 'Y' or CardCode eq 'C20000')"));
        assert!(keeps("CardCode eq 'C20000' or CardCode eq 'Y' and CardCode eq 'X'"));
    }

    #[test]
    fn not_applies_to_the_nearest_term_only() {
        assert!(keeps("not CardCode eq 'X' and CreditLimit gt 10"));
        assert!(!keeps("not (CardCode eq 'X' or CreditLimit gt 10)"));
        assert!(keeps("not not CardCode eq 'C20000'"));
    }

    #[test]
    fn doubled_quotes_are_one_quote_inside_a_literal() {
        assert!(keeps("CardName eq 'O''Brien Traders'"));
        let injected = parse("CardName eq 'x'' or CardCode ne ''y'").unwrap();
        assert_eq!(injected.properties(), vec!["CardName"], "the whole value stays one literal");
        assert!(!injected.matches(&row()));
    }

    #[test]
    fn numbers_compare_numerically_and_dates_as_dates() {
        assert!(keeps("CreditLimit ge 5000 and CreditLimit lt 5000.5 and CreditLimit gt -1"));
        assert!(keeps("UpdateDate ge 2024-03-05 and UpdateDate lt 2024-03-06"));
        assert!(keeps("UpdateDate eq '2024-03-05'"));
        assert!(keeps("UpdateDate gt datetime'2024-03-04T23:59:59'"));
        assert!(keeps("UpdateDate eq 2024-03-05 and UpdateTime ge 13:00:00 and UpdateTime lt '13:15:00'"));
        assert!(!keeps("UpdateDate gt 2024-03-05"));
    }

    #[test]
    fn the_poller_watermark_filter_works_with_quoted_or_unquoted_dates_and_times() {
        for filter in [
            "(UpdateDate gt 2024-03-04) or (UpdateDate eq 2024-03-04 and UpdateTime ge '10:00:00')",
            "(UpdateDate gt '2024-03-05') or (UpdateDate eq '2024-03-05' and UpdateTime ge 13:14:45)",
            "(UpdateDate gt 2024-03-05) or ((UpdateDate eq 2024-03-05) and (UpdateTime ge '13:14:45'))",
        ] {
            assert!(keeps(filter), "{filter}");
        }
        assert!(!keeps("(UpdateDate gt 2024-03-05) or (UpdateDate eq 2024-03-05 and UpdateTime ge '13:14:46')"));
    }

    #[test]
    fn the_in_operator_is_not_in_the_service_layer_list() {
        assert!(parse("CardCode in ('C20000','C20001')").is_err());
        assert!(keeps("CardCode eq 'C1' or CardCode eq 'C20000'"));
    }

    #[test]
    fn string_functions_match_both_argument_orders() {
        assert!(keeps("startswith(CardName, 'O''Brien')"));
        assert!(keeps("endswith(CardName,'Traders') and contains(CardName, 'Bri')"));
        assert!(keeps("substringof('Bri', CardName)"));
        assert!(!keeps("startswith(CardName, 'Traders')"));
        assert!(keeps("startswith(CardCode,'C2') eq true"));
    }

    #[test]
    fn null_matches_missing_and_null_properties() {
        assert!(keeps("Phone1 eq null and Phone2 eq null and CardCode ne null"));
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert!(keeps("CardCode EQ 'C20000' AND NOT Frozen Eq 'tYES'"));
    }

    #[test]
    fn properties_lists_every_property_read() {
        let expr = parse("(A eq 1 or startswith(B,'x')) and not 'y' eq C").unwrap();
        assert_eq!(expr.properties(), vec!["A", "B", "C"]);
    }

    #[test]
    fn a_hundred_term_key_batch_parses_flat_and_fast_and_keeps_its_literals_in_order() {
        let batch: Vec<String> = (0..100).map(|i| format!("CardCode eq 'C{i}'")).collect();
        let started = std::time::Instant::now();
        let expr = parse(&batch.join(" or ")).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_millis(200), "{:?}", started.elapsed());
        assert!(matches!(&expr, Expr::Or(terms) if terms.len() == 100), "one flat or-node");
        let literals = expr.key_literals("CardCode").unwrap();
        assert_eq!((literals.len(), literals[99]), (100, &Literal::Text("C99".into())));
        assert_eq!(expr.key_literals("CardName"), None, "another property");
        let long: Vec<String> = (0..20_000).map(|i| format!("DocEntry eq {i}")).collect();
        assert!(parse(&long.join(" or ")).unwrap().matches(&json!({"DocEntry": 19_999})), "no recursion per term");
    }

    #[test]
    fn only_pure_key_disjunctions_have_key_literals() {
        let literals = |filter: &str| parse(filter).unwrap().key_literals("CardCode").map(|l| l.len());
        assert_eq!(literals("CardCode eq 'A'"), Some(1));
        assert_eq!(literals("(CardCode eq 'A') or (CardCode eq 'B' or CardCode eq 'C')"), Some(3));
        assert_eq!(literals("CardCode eq 'A' or CardCode ne 'B'"), None);
        assert_eq!(literals("CardCode eq 'A' and CardCode eq 'A'"), None);
        assert_eq!(literals("'A' eq CardCode"), None, "the general evaluator handles the reversed form");
        assert_eq!(literals("not CardCode eq 'A'"), None);
    }

    #[test]
    fn deep_nesting_is_refused_before_it_can_exhaust_the_stack() {
        let deep = format!("{}CardCode eq 'x'{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&deep).unwrap_err().0.contains("nests deeper"));
        assert!(parse(&format!("{}CardCode eq 'x'", "not ".repeat(100_000))).is_err());
        let fine = format!("{}CardCode eq 'C20000'{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&fine).unwrap().matches(&row()));
    }

    #[test]
    fn malformed_filters_are_errors_not_panics() {
        for bad in [
            "",
            "CardCode",
            "CardCode eq",
            "CardCode eq 'open",
            "CardCode eq 'x' and",
            "(CardCode eq 'x'",
            "CardCode eq 'x')",
            "CardCode like 'x'",
            "CardCode eq 'x' CardName eq 'y'",
            "tolower(CardCode) eq 'x'",
            "startswith(CardCode 'x')",
            "CardCode eq 12-34",
            "CardCode eq datetime'yesterday'",
            "CardCode = 'x'",
            "eq eq eq",
            "not",
            "((((",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
