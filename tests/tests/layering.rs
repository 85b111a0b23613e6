//! The library's dependency rules, as written in `shared/src/lib.rs` (`rule: MODULE -> ALLOWED…`),
//! checked against every `crate::…` and `super::…` path in the library's non-test code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → the top-level modules it may import (`*`: any). `error` and root items are always allowed.
type Rules = BTreeMap<String, BTreeSet<String>>;

fn rules_of(lib_rs: &str) -> Rules {
    lib_rs
        .lines()
        .filter_map(|line| line.trim_start_matches("//!").trim().strip_prefix("rule:"))
        .map(|rule| {
            let (module, allowed) = rule.split_once("->").expect("a rule reads `rule: MODULE -> ALLOWED…`");
            (module.trim().to_string(), allowed.split_whitespace().map(String::from).collect())
        })
        .collect()
}

/// The source without its test modules (`#[cfg(test)]` then `mod … {` up to the `}` closing it at
/// column 0, as rustfmt lays them out) and without comments.
fn production_code(source: &str) -> String {
    let mut kept = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines.peek().is_some_and(|next| next.trim_start().contains("mod ") && next.trim_end().ends_with('{'))
        {
            for inner in lines.by_ref() {
                if inner == "}" {
                    break;
                }
            }
            continue;
        }
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// The module path of a file under `src/` (`flows/f8_reconcile/run.rs` → `[flows, f8_reconcile, run]`).
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The top-level modules a file's production code reaches through `crate::x` or `super::…::x` paths.
fn imported_modules(source: &str, path: &[String]) -> BTreeSet<String> {
    let code = production_code(source);
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let word_before = |at: usize| at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
    for (at, _) in code.match_indices("crate::") {
        if word_before(at) {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            found.insert(name);
        }
    }
    for (at, _) in code.match_indices("super::") {
        if word_before(at) || code[..at].ends_with("super::") {
            continue;
        }
        let mut rest = &code[at..];
        let mut depth = 0;
        while let Some(after) = rest.strip_prefix("super::") {
            depth += 1;
            rest = after;
        }
        // `super` from a file's module climbs to its parent; reaching the crate root names a top-level module.
        if depth >= path.len() {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// Every `file: module imports other` that the rules forbid.
fn violations(rules: &Rules, files: &[(PathBuf, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (relative, source) in files {
        let path = module_path(relative);
        let Some(top) = path.first() else { continue };
        let Some(allowed) = rules.get(top) else {
            out.push(format!("{}: module `{top}` has no rule in lib.rs", relative.display()));
            continue;
        };
        if allowed.contains("*") {
            continue;
        }
        for imported in imported_modules(source, &path) {
            if imported != *top && imported != "error" && !allowed.contains(&imported) {
                out.push(format!("{}: `{top}` may not import `{imported}`", relative.display()));
            }
        }
    }
    out
}

fn library_sources(src: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && path.file_name().is_some_and(|n| n != "lib.rs") {
                let source = std::fs::read_to_string(&path).expect("readable source");
                files.push((path.strip_prefix(src).expect("under src").to_path_buf(), source));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_library_module_imports_only_what_the_rules_in_lib_rs_allow() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    let rules = rules_of(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    assert!(rules.len() >= 10, "lib.rs lists the rules: {rules:?}");
    let files = library_sources(&src);
    assert!(files.len() > 50, "the library's sources were found ({})", files.len());
    let broken = violations(&rules, &files);
    assert!(broken.is_empty(), "dependency rules broken:\n{}", broken.join("\n"));
}

#[test]
fn the_check_sees_crate_and_super_paths_and_ignores_tests_and_comments() {
    let rules = rules_of("//! rule: flows -> domain ports\n//! rule: domain ->\n//! rule: wiring -> *\n");
    let flow = "use crate::domain::Record;\nuse crate::engine::sap_writer::SapWriter;\n\
                // crate::aws in a comment\nfn f() { super::super::super::sap::odata::quote(\"\"); }\n\
                #[cfg(test)]\nmod tests {\n    use crate::embedded::ManualClock;\n}\n";
    let files = vec![
        (PathBuf::from("flows/f8_reconcile/compare.rs"), flow.to_string()),
        (PathBuf::from("domain/ids.rs"), "use crate::error::Error;\nuse crate::Result;\n".to_string()),
        (PathBuf::from("wiring/mod.rs"), "use crate::aws::SqsQueue;\n".to_string()),
        (PathBuf::from("newthing.rs"), String::new()),
    ];
    assert_eq!(
        violations(&rules, &files),
        [
            "flows/f8_reconcile/compare.rs: `flows` may not import `engine`",
            "flows/f8_reconcile/compare.rs: `flows` may not import `sap`",
            "newthing.rs: module `newthing` has no rule in lib.rs",
        ]
    );
}
