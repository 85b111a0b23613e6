//! Renders a reconciliation report (`ReconReport` JSON) as the HTML page, CSV or JSON the
//! reconciler writes to S3, to look at one by hand or feed the browser test.
//!
//! `render_report [--csv | --json] [REPORT.json]` reads stdin when no path is given; writes stdout.

use std::io::{Read, Write};
use std::process::ExitCode;

use shared::report::{self as render, model::ReconReport};

const USAGE: &str = "usage: render_report [--html | --csv | --json] [REPORT.json]  (reads stdin without a path)";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("render_report: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut renderer: fn(&ReconReport) -> String = render::html;
    let mut path = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--html" => renderer = render::html,
            "--csv" => renderer = render::csv,
            "--json" => renderer = render::json,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            flag if flag.starts_with('-') && flag != "-" => return Err(format!("unknown option {flag}\n{USAGE}")),
            _ if path.is_some() => return Err(format!("more than one report path given\n{USAGE}")),
            _ => path = Some(arg),
        }
    }
    let (source, input) = match path.as_deref() {
        None | Some("-") => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).map_err(|e| format!("cannot read stdin: {e}"))?;
            ("stdin".to_owned(), input)
        }
        Some(path) => (path.to_owned(), std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?),
    };
    let report: ReconReport =
        serde_json::from_str(&input).map_err(|e| format!("{source} is not a reconciliation report: {e}"))?;
    std::io::stdout().lock().write_all(renderer(&report).as_bytes()).map_err(|e| format!("cannot write stdout: {e}"))
}
