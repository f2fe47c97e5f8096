//! The report `notion-unfurl extract` prints, for one local page, without building the
//! server: what the scorer runs once per page.
//!
//! `cargo run -p notion-unfurl-opengraph --example extract -- [--explain] --base-url URL PAGE`
//!
//! `PAGE` is a file, or `-` for standard input.

use std::io::{Read, Write};
use std::process::ExitCode;

use notion_unfurl_opengraph::report::{ReportOptions, report};
use notion_unfurl_sdk::Url;

const USAGE: &str = "usage: extract [--explain] --base-url URL PAGE";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("extract: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (mut base_url, mut page, mut explain) = (None, None, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--explain" => explain = true,
            "--base-url" => base_url = Some(args.next().ok_or(USAGE)?),
            _ if page.is_none() => page = Some(arg),
            _ => return Err(USAGE.into()),
        }
    }
    let (base_url, page) = base_url.zip(page).ok_or(USAGE)?;
    let url = Url::parse(&base_url).map_err(|e| format!("--base-url {base_url:?}: {e}"))?;
    let mut html = Vec::new();
    if page == "-" {
        std::io::stdin().read_to_end(&mut html)?;
    } else {
        html = std::fs::read(&page).map_err(|e| format!("{page}: {e}"))?;
    }
    let report = report(&html, None, &url, ReportOptions { explain });
    let text = if explain {
        serde_json::to_string_pretty(&report)?
    } else {
        serde_json::to_string(&report)?
    };
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}
