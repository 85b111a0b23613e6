//! A SOQL subset parser: pure, no knowledge of objects or data (see `query.rs` for evaluation).
//!
//! Supported: `SELECT` with fields, relationship paths, `COUNT()` and one level of child subquery;
//! `FROM`; `WHERE` with `= != <> < > <= >= LIKE IN NOT IN AND OR NOT` and parentheses; string,
//! number, boolean, null, date and datetime literals; `ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...`;
//! `LIMIT`; `OFFSET`.

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    /// An object name, or a child relationship name inside a subquery.
    pub from: String,
    pub filter: Option<Condition>,
    pub order_by: Vec<OrderKey>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// A field path as written: `["Name"]` or `["Account", "SAP_CardCode__c"]`.
pub type FieldPath = Vec<String>;

/// One entry of the select list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    Field(FieldPath),
    Count,
    SubQuery(Box<Query>),
}

/// A WHERE condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
    Compare { field: FieldPath, op: Op, value: Literal },
    In { field: FieldPath, values: Vec<Literal>, negated: bool },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// The unescaped text (LIKE patterns keep `\%` and `\_` escaped).
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
    /// `YYYY-MM-DD`
    Date(String),
    /// `YYYY-MM-DDThh:mm:ss[.sss](Z|±hh:mm)`
    DateTime(String),
}

/// One ORDER BY key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey {
    pub field: FieldPath,
    pub descending: bool,
    pub nulls_last: bool,
}

/// A syntax error, answered as MALFORMED_QUERY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(f64),
    Date(String),
    DateTime(String),
    Symbol(&'static str),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(w) => w.clone(),
            Token::Text(s) => format!("'{s}'"),
            Token::Number(n) => n.to_string(),
            Token::Date(d) | Token::DateTime(d) => d.clone(),
            Token::Symbol(s) => (*s).to_string(),
        }
    }
}

/// Parses `soql` into a [`Query`].
pub fn parse(soql: &str) -> Result<Query, SyntaxError> {
    let tokens = tokenize(soql)?;
    let mut parser = Parser { tokens, pos: 0 };
    let query = parser.query()?;
    match parser.peek() {
        None => Ok(query),
        Some(_) => Err(parser.unexpected()),
    }
}

fn tokenize(src: &str) -> Result<Vec<(Token, usize)>, SyntaxError> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let token = if c == '\'' {
            let (text, next) = string_literal(&chars, i)?;
            i = next;
            Token::Text(text)
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let (token, next) = number_or_date(&chars, i)?;
            i = next;
            token
        } else if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '.')) {
                i += 1;
            }
            Token::Word(chars[start..i].iter().collect())
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let symbol = ["!=", "<>", "<=", ">="].into_iter().find(|s| *s == two);
            match symbol {
                Some(s) => {
                    i += 2;
                    Token::Symbol(s)
                }
                None => {
                    let one = ["(", ")", ",", "=", "<", ">"].into_iter().find(|s| s.starts_with(c));
                    let Some(s) = one else {
                        return Err(SyntaxError(format!(
                            "ERROR at Row:1:Column:{}\nunexpected token: '{c}'",
                            start + 1
                        )));
                    };
                    i += 1;
                    Token::Symbol(s)
                }
            }
        };
        tokens.push((token, start));
    }
    Ok(tokens)
}

fn string_literal(chars: &[char], open: usize) -> Result<(String, usize), SyntaxError> {
    let mut out = String::new();
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '\'' => return Ok((out, i + 1)),
            '\\' => {
                let escaped = chars.get(i + 1).copied().ok_or_else(|| unterminated(open))?;
                match escaped {
                    'n' | 'N' => out.push('\n'),
                    'r' | 'R' => out.push('\r'),
                    't' | 'T' => out.push('\t'),
                    'b' | 'B' => out.push('\u{8}'),
                    'f' | 'F' => out.push('\u{c}'),
                    '"' | '\'' | '\\' => out.push(escaped),
                    // Kept escaped: only LIKE gives them meaning.
                    '%' | '_' => {
                        out.push('\\');
                        out.push(escaped);
                    }
                    other => {
                        return Err(SyntaxError(format!(
                            "ERROR at Row:1:Column:{}\nInvalid string literal: illegal escape sequence \\{other}",
                            i + 1
                        )));
                    }
                }
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err(unterminated(open))
}

fn unterminated(open: usize) -> SyntaxError {
    SyntaxError(format!("ERROR at Row:1:Column:{}\nunterminated string literal", open + 1))
}

fn number_or_date(chars: &[char], start: usize) -> Result<(Token, usize), SyntaxError> {
    let take_digits = |from: usize, n: usize| -> bool {
        chars.len() >= from + n && chars[from..from + n].iter().all(|c| c.is_ascii_digit())
    };
    let is = |at: usize, c: char| chars.get(at) == Some(&c);
    if take_digits(start, 4)
        && is(start + 4, '-')
        && take_digits(start + 5, 2)
        && is(start + 7, '-')
        && take_digits(start + 8, 2)
    {
        let mut i = start + 10;
        if !is(i, 'T') {
            return Ok((Token::Date(chars[start..i].iter().collect()), i));
        }
        let time_ok =
            take_digits(i + 1, 2) && is(i + 3, ':') && take_digits(i + 4, 2) && is(i + 6, ':') && take_digits(i + 7, 2);
        if !time_ok {
            return Err(SyntaxError(format!("ERROR at Row:1:Column:{}\ninvalid datetime literal", start + 1)));
        }
        i += 9;
        if is(i, '.') {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        }
        if is(i, 'Z') {
            i += 1;
        } else if (is(i, '+') || is(i, '-')) && take_digits(i + 1, 2) && is(i + 3, ':') && take_digits(i + 4, 2) {
            i += 6;
        } else {
            return Err(SyntaxError(format!(
                "ERROR at Row:1:Column:{}\ndatetime literal needs a time zone (Z or +hh:mm)",
                start + 1
            )));
        }
        return Ok((Token::DateTime(chars[start..i].iter().collect()), i));
    }
    let mut i = start + 1;
    while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
        i += 1;
    }
    let text: String = chars[start..i].iter().collect();
    let value = text
        .parse::<f64>()
        .map_err(|_| SyntaxError(format!("ERROR at Row:1:Column:{}\ninvalid number: {text}", start + 1)))?;
    Ok((Token::Number(value), i))
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn peek_symbol(&self, symbol: &str) -> bool {
        matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).map(|(t, _)| t.clone());
        self.pos += 1;
        token
    }

    fn unexpected(&self) -> SyntaxError {
        match self.tokens.get(self.pos) {
            Some((token, at)) => {
                SyntaxError(format!("ERROR at Row:1:Column:{}\nunexpected token: {}", at + 1, token.describe()))
            }
            None => SyntaxError("unexpected token: <EOF>".into()),
        }
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), SyntaxError> {
        if self.peek_keyword(keyword) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn symbol(&mut self, symbol: &str) -> Result<(), SyntaxError> {
        if self.peek_symbol(symbol) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn query(&mut self) -> Result<Query, SyntaxError> {
        self.keyword("SELECT")?;
        let mut select = vec![self.select_item()?];
        while self.peek_symbol(",") {
            self.pos += 1;
            select.push(self.select_item()?);
        }
        self.keyword("FROM")?;
        let from = self.object_name()?;
        let filter = if self.peek_keyword("WHERE") {
            self.pos += 1;
            Some(self.or()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.peek_keyword("ORDER") {
            self.pos += 1;
            self.keyword("BY")?;
            order_by.push(self.order_key()?);
            while self.peek_symbol(",") {
                self.pos += 1;
                order_by.push(self.order_key()?);
            }
        }
        let limit = self.optional_count("LIMIT")?;
        let offset = self.optional_count("OFFSET")?;
        Ok(Query { select, from, filter, order_by, limit, offset })
    }

    fn select_item(&mut self) -> Result<SelectItem, SyntaxError> {
        if self.peek_symbol("(") {
            self.pos += 1;
            let sub = self.query()?;
            self.symbol(")")?;
            return Ok(SelectItem::SubQuery(Box::new(sub)));
        }
        if self.peek_keyword("COUNT") && matches!(self.tokens.get(self.pos + 1), Some((Token::Symbol("("), _))) {
            self.pos += 1;
            self.symbol("(")?;
            self.symbol(")")?;
            return Ok(SelectItem::Count);
        }
        Ok(SelectItem::Field(self.field_path()?))
    }

    /// The object after FROM: `Order` is an object there, though a keyword elsewhere.
    fn object_name(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("Order") => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => self.identifier(),
        }
    }

    fn identifier(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(Token::Word(w)) if !is_reserved(w) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn field_path(&mut self) -> Result<FieldPath, SyntaxError> {
        let at = self.pos;
        let word = self.identifier()?;
        let path: FieldPath = word.split('.').map(str::to_string).collect();
        if path.iter().any(String::is_empty) {
            self.pos = at;
            return Err(self.unexpected());
        }
        Ok(path)
    }

    fn order_key(&mut self) -> Result<OrderKey, SyntaxError> {
        let field = self.field_path()?;
        let mut descending = false;
        if self.peek_keyword("ASC") {
            self.pos += 1;
        } else if self.peek_keyword("DESC") {
            self.pos += 1;
            descending = true;
        }
        // Salesforce puts nulls first in ascending order and last in descending order by default.
        let mut nulls_last = descending;
        if self.peek_keyword("NULLS") {
            self.pos += 1;
            if self.peek_keyword("FIRST") {
                nulls_last = false;
            } else if self.peek_keyword("LAST") {
                nulls_last = true;
            } else {
                return Err(self.unexpected());
            }
            self.pos += 1;
        }
        Ok(OrderKey { field, descending, nulls_last })
    }

    fn optional_count(&mut self, keyword: &str) -> Result<Option<usize>, SyntaxError> {
        if !self.peek_keyword(keyword) {
            return Ok(None);
        }
        self.pos += 1;
        match self.peek() {
            Some(Token::Number(n)) if *n >= 0.0 && n.fract() == 0.0 => {
                let n = *n as usize;
                self.pos += 1;
                Ok(Some(n))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn or(&mut self) -> Result<Condition, SyntaxError> {
        let mut left = self.and()?;
        while self.peek_keyword("OR") {
            self.pos += 1;
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, SyntaxError> {
        let mut left = self.not()?;
        while self.peek_keyword("AND") {
            self.pos += 1;
            left = Condition::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, SyntaxError> {
        if self.peek_keyword("NOT") {
            self.pos += 1;
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        if self.peek_symbol("(") {
            self.pos += 1;
            let inner = self.or()?;
            self.symbol(")")?;
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Condition, SyntaxError> {
        let field = self.field_path()?;
        if self.peek_keyword("NOT") || self.peek_keyword("IN") {
            let negated = self.peek_keyword("NOT");
            if negated {
                self.pos += 1;
            }
            self.keyword("IN")?;
            self.symbol("(")?;
            let mut values = vec![self.literal()?];
            while self.peek_symbol(",") {
                self.pos += 1;
                values.push(self.literal()?);
            }
            self.symbol(")")?;
            return Ok(Condition::In { field, values, negated });
        }
        let op = match self.next() {
            Some(Token::Symbol("=")) => Op::Eq,
            Some(Token::Symbol("!=" | "<>")) => Op::Ne,
            Some(Token::Symbol("<")) => Op::Lt,
            Some(Token::Symbol("<=")) => Op::Le,
            Some(Token::Symbol(">")) => Op::Gt,
            Some(Token::Symbol(">=")) => Op::Ge,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("LIKE") => Op::Like,
            _ => {
                self.pos -= 1;
                return Err(self.unexpected());
            }
        };
        let value = self.literal()?;
        if op == Op::Like && !matches!(value, Literal::Text(_)) {
            self.pos -= 1;
            return Err(self.unexpected());
        }
        Ok(Condition::Compare { field, op, value })
    }

    fn literal(&mut self) -> Result<Literal, SyntaxError> {
        let literal = match self.peek() {
            Some(Token::Text(s)) => Literal::Text(s.clone()),
            Some(Token::Number(n)) => Literal::Number(*n),
            Some(Token::Date(d)) => Literal::Date(d.clone()),
            Some(Token::DateTime(d)) => Literal::DateTime(d.clone()),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Literal::Null,
            _ => return Err(self.unexpected()),
        };
        self.pos += 1;
        Ok(literal)
    }
}

fn is_reserved(word: &str) -> bool {
    const RESERVED: [&str; 16] = [
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET", "NULL", "TRUE",
        "FALSE", "NULLS",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// Matches a SOQL LIKE pattern (`%` any run, `_` one char, `\%` `\_` literal), case-insensitively.
pub fn like(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy)]
    enum P {
        Any,
        One,
        Char(char),
    }
    let mut parts = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        parts.push(match c {
            '%' => P::Any,
            '_' => P::One,
            '\\' => P::Char(chars.next().unwrap_or('\\')),
            c => P::Char(c),
        });
    }
    let text: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    // Classic wildcard matching with backtracking to the last `%`.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match parts.get(p) {
            Some(P::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(P::One) => {
                p += 1;
                t += 1;
            }
            Some(P::Char(c)) if c.to_lowercase().eq(std::iter::once(text[t])) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    parts[p..].iter().all(|part| matches!(part, P::Any))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> FieldPath {
        p.split('.').map(str::to_string).collect()
    }

    fn text(s: &str) -> Literal {
        Literal::Text(s.into())
    }

    #[test]
    fn the_f1_opportunity_query_parses_with_its_child_subquery() {
        let q = parse(
            "SELECT Id, Name, Account.SAP_CardCode__c, (SELECT ProductCode, Product2.SAP_ItemCode__c FROM \
             OpportunityLineItems ORDER BY SortOrder) FROM Opportunity WHERE Id IN ('006SM0000001Tb3YAE','006SM0000001Tb4YAE')",
        )
        .unwrap();
        assert_eq!(q.from, "Opportunity");
        assert_eq!(q.select[2], SelectItem::Field(path("Account.SAP_CardCode__c")));
        let SelectItem::SubQuery(sub) = &q.select[3] else { panic!("no subquery: {:?}", q.select[3]) };
        assert_eq!(sub.from, "OpportunityLineItems");
        assert_eq!(sub.order_by, vec![OrderKey { field: path("SortOrder"), descending: false, nulls_last: false }]);
        assert_eq!(
            q.filter,
            Some(Condition::In {
                field: path("Id"),
                values: vec![text("006SM0000001Tb3YAE"), text("006SM0000001Tb4YAE")],
                negated: false
            })
        );
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_override_it() {
        let q = parse("select Id from Account where Name = 'a' or Name = 'b' and Phone = null").unwrap();
        let cmp = |f: &str, v: Literal| Condition::Compare { field: path(f), op: Op::Eq, value: v };
        assert_eq!(
            q.filter.unwrap(),
            Condition::Or(
                Box::new(cmp("Name", text("a"))),
                Box::new(Condition::And(Box::new(cmp("Name", text("b"))), Box::new(cmp("Phone", Literal::Null))))
            )
        );
        let q = parse("SELECT Id FROM Account WHERE (Name = 'a' OR Name = 'b') AND NOT Phone != null").unwrap();
        let Some(Condition::And(left, right)) = q.filter else { panic!("expected AND") };
        assert!(matches!(*left, Condition::Or(..)));
        assert!(matches!(*right, Condition::Not(_)));
    }

    #[test]
    fn every_operator_and_literal_kind_is_understood() {
        let q = parse(
            "SELECT Id FROM Opportunity WHERE Amount >= 10.5 AND Amount < -3 AND Amount <= 7 AND Amount > 0 AND \
             Name <> 'x' AND Name LIKE 'Acme%' AND IsWon = TRUE AND CloseDate = 2026-11-25 AND \
             SystemModstamp > 2026-11-25T10:00:00.000Z AND LastModifiedDate < 2026-11-25T10:00:00+01:00 AND \
             StageName NOT IN ('Closed Lost')",
        )
        .unwrap();
        let mut ops = Vec::new();
        let mut literals = Vec::new();
        fn walk(c: &Condition, ops: &mut Vec<Op>, literals: &mut Vec<Literal>) {
            match c {
                Condition::And(a, b) | Condition::Or(a, b) => {
                    walk(a, ops, literals);
                    walk(b, ops, literals);
                }
                Condition::Not(a) => walk(a, ops, literals),
                Condition::Compare { op, value, .. } => {
                    ops.push(*op);
                    literals.push(value.clone());
                }
                Condition::In { values, negated, .. } => {
                    assert!(*negated);
                    literals.extend(values.iter().cloned());
                }
            }
        }
        walk(q.filter.as_ref().unwrap(), &mut ops, &mut literals);
        assert_eq!(ops, vec![Op::Ge, Op::Lt, Op::Le, Op::Gt, Op::Ne, Op::Like, Op::Eq, Op::Eq, Op::Gt, Op::Lt]);
        assert_eq!(literals[0], Literal::Number(10.5));
        assert_eq!(literals[1], Literal::Number(-3.0));
        assert_eq!(literals[6], Literal::Bool(true));
        assert_eq!(literals[7], Literal::Date("2026-11-25".into()));
        assert_eq!(literals[8], Literal::DateTime("2026-11-25T10:00:00.000Z".into()));
        assert_eq!(literals[9], Literal::DateTime("2026-11-25T10:00:00+01:00".into()));
        assert_eq!(literals[10], text("Closed Lost"));
    }

    #[test]
    fn string_escapes_are_decoded_and_a_quote_cannot_end_the_literal_early() {
        let q = parse(r"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ Sons\nLtd' AND Name LIKE '100\%'").unwrap();
        let Some(Condition::And(left, right)) = q.filter else { panic!() };
        assert_eq!(*left, Condition::Compare { field: path("Name"), op: Op::Eq, value: text("O'Brien \\ Sons\nLtd") });
        assert_eq!(*right, Condition::Compare { field: path("Name"), op: Op::Like, value: text("100\\%") });
        let q = parse(r"SELECT Id FROM Account WHERE Name = 'x\' OR Name != '").unwrap();
        assert_eq!(
            q.filter,
            Some(Condition::Compare { field: path("Name"), op: Op::Eq, value: text("x' OR Name != ") })
        );
    }

    #[test]
    fn order_by_limit_offset_and_count_are_parsed() {
        let orders = parse("SELECT Id FROM Order ORDER BY Id").unwrap();
        assert_eq!((orders.from.as_str(), orders.order_by.len()), ("Order", 1));
        let q = parse("SELECT COUNT() FROM Account").unwrap();
        assert_eq!(q.select, vec![SelectItem::Count]);
        let q = parse("SELECT Id FROM Account ORDER BY Name DESC, Id ASC NULLS LAST LIMIT 10 OFFSET 20").unwrap();
        assert_eq!(
            q.order_by,
            vec![
                OrderKey { field: path("Name"), descending: true, nulls_last: true },
                OrderKey { field: path("Id"), descending: false, nulls_last: true }
            ]
        );
        assert_eq!((q.limit, q.offset), (Some(10), Some(20)));
    }

    #[test]
    fn malformed_queries_are_rejected_with_the_offending_token() {
        for bad in [
            "",
            "SELECT FROM Account",
            "SELECT Id Account",
            "SELECT Id FROM Account WHERE",
            "SELECT Id FROM Account WHERE Name = ",
            "SELECT Id FROM Account WHERE Name = 'unterminated",
            "SELECT Id FROM Account WHERE Name 'x'",
            "SELECT Id FROM Account LIMIT -1",
            "SELECT Id FROM Account WHERE Name = 'a' extra",
            "SELECT Id, FROM Account",
            "SELECT Id FROM Account WHERE Name LIKE 5",
            "SELECT Id FROM Account WHERE Name = 'x' ; DELETE",
            "SELECT Id FROM Account WHERE Name = 'bad \\q escape'",
            "SELECT Id FROM Account WHERE CreatedDate > 2026-11-25T10:00:00",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(
                err.0.contains("unexpected") || err.0.contains("literal") || err.0.contains("zone"),
                "{bad}: {err:?}"
            );
        }
        let err = parse("SELECT Id FROM Account WHERE Name 'x'").unwrap_err();
        assert!(err.0.contains("Column:35") && err.0.contains("'x'"), "{err:?}");
    }

    #[test]
    fn like_patterns_match_case_insensitively_with_wildcards_and_escapes() {
        assert!(like("acme%", "ACME Corp"));
        assert!(like("%corp", "Acme Corp"));
        assert!(like("A_me", "Acme"));
        assert!(!like("A_me", "Acmee"));
        assert!(like("%w%o%", "Northwind Toys"));
        assert!(!like("%z%", "Northwind Toys"));
        assert!(!like("100\\%", "1000"));
        assert!(like("100\\%", "100%"));
        assert!(like("%", ""));
        assert!(!like("_", ""));
    }
}
