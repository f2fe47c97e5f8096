//! Extract every page of a corpus in one process: one JSON line per case on stdout
//! (`{"case_id", "fields"}`, what `score_extract.py --predictions` reads) and the
//! throughput on stderr (pages/s, MB/s), the extraction alone, files read beforehand.
//!
//! `cargo run --release -p notion-unfurl-opengraph --example corpus_report -- ../shared/corpus [ROUNDS]`

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use notion_unfurl_opengraph::report::{ReportOptions, report};
use notion_unfurl_sdk::Url;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "../shared/corpus".to_owned()));
    let rounds: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(1);
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let (meta, page) = (path.join("meta.json"), path.join("page.html"));
        if !(meta.is_file() && page.is_file()) {
            continue;
        }
        let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(meta)?)?;
        let url = Url::parse(meta["url"].as_str().ok_or("meta.json without url")?)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        cases.push((name, url, std::fs::read(page)?));
    }
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    let bytes: usize = cases.iter().map(|c| c.2.len()).sum();

    let mut out = Vec::new();
    let started = Instant::now();
    for round in 0..rounds {
        for (name, url, page) in &cases {
            let fields = report(page, None, url, ReportOptions::default());
            if round == 0 {
                out.push(serde_json::json!({"case_id": name, "fields": fields}));
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let pages = (cases.len() * rounds) as f64;
    let mut stdout = std::io::stdout().lock();
    for line in out {
        writeln!(stdout, "{line}")?;
    }
    eprintln!(
        "notion-unfurl: {} pages x {rounds} in {seconds:.3} s: {:.0} pages/s, {:.1} MB/s",
        cases.len(),
        pages / seconds,
        (bytes * rounds) as f64 / 1e6 / seconds
    );
    Ok(())
}
