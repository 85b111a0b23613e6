//! `b1force check --mapping FILE` as a user runs it: exit status, report on stdout, problems on stderr.
//! The same behaviour is tested through the library in tests/tests/mapping_check.rs.

use std::process::Command;

fn b1force() -> Command {
    Command::new(env!("CARGO_BIN_EXE_b1force"))
}

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_accepts_the_shipped_mapping_and_summarises_it() {
    for args in [vec!["check"], vec!["check", "--mapping", &repo("mapping.toml")]] {
        let out = b1force().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let report = String::from_utf8(out.stdout).unwrap();
        assert!(report.contains("valid (mapping version 1, 8 flows)"), "{report}");
        assert!(report.contains("F4  Account <-> BusinessPartners"), "{report}");
    }
}

#[test]
fn check_fails_a_broken_mapping_with_file_line_and_reason() {
    let path = repo("tests/fixtures/mapping/read_only_target.toml");
    let out = b1force().args(["check", "--mapping", &path]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{path}:8:42: BusinessPartners.CurrentAccountBalance is read-only in SAP")),
        "{stderr}"
    );
}
