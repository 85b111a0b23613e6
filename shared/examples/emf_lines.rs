//! Prints the EMF lines every function emits for one sample invocation each (the same
//! `shared::telemetry::functions` the Lambdas call), one JSON document per line, for the EMF
//! specification test (`tests/python/test_emf_spec.py`).
//!
//! `emf_lines [TIMESTAMP_MS]`: the documents' timestamp and "now" of the samples (default: now).

use std::process::ExitCode;

fn main() -> ExitCode {
    let now = match std::env::args().nth(1) {
        None => shared::ports::Clock::now_millis(&shared::ports::SystemClock),
        Some(arg) => match arg.parse() {
            Ok(ms) => ms,
            Err(_) => {
                eprintln!("emf_lines: {arg:?} is not a timestamp in epoch milliseconds");
                return ExitCode::FAILURE;
            }
        },
    };
    for line in shared::telemetry::functions::sample_lines(now) {
        println!("{line}");
    }
    ExitCode::SUCCESS
}
