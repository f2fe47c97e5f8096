//! Agreement with the shared corpus of real pages (`../shared/corpus`, read in place).
//!
//! Each case holds `page.html` and `meta.json`, whose `expected` values come from two
//! independent suites: metascraper's own output (a strong reference, not ground truth:
//! it prefers modified dates and curls quotes) and fundus's hand-written news parsers
//! (cleaned headlines, author lists, publication dates). Exact agreement is not the goal;
//! the rates below are floors that catch regressions, and the printed misses are what to
//! study when changing the extractor.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use notion_unfurl_opengraph::{PageMetadata, extract};
use notion_unfurl_sdk::Url;
use serde_json::Value;

const TITLE_FLOOR: f64 = 0.90;
const IMAGE_FLOOR: f64 = 0.85;
const DATE_FLOOR: f64 = 0.75;
const AUTHOR_FLOOR: f64 = 0.70;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

struct Case {
    name: String,
    meta: Value,
    page: Vec<u8>,
}

fn load_cases() -> Option<Vec<Case>> {
    let dir = corpus_dir();
    let entries = std::fs::read_dir(&dir).ok()?;
    let mut cases: Vec<Case> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").is_file() && p.join("page.html").is_file())
        .map(|p| Case {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            meta: serde_json::from_slice(&std::fs::read(p.join("meta.json")).unwrap()).unwrap(),
            page: std::fs::read(p.join("page.html")).unwrap(),
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Some(cases)
}

/// Case-folded, whitespace-collapsed, with the typographic variants metascraper and the
/// pages disagree on (curly quotes, dashes, soft hyphens) made plain.
fn norm(s: &str) -> String {
    let mapped: String = s
        .replace('\u{2026}', "...")
        .chars()
        .filter(|c| {
            !matches!(
                c,
                '\u{ad}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}'
            )
        })
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}' | '\u{2032}' | '`' => '\'',
            '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{ab}' | '\u{bb}' => '"',
            '\u{2013}' | '\u{2014}' | '\u{2212}' => '-',
            c => c,
        })
        .collect();
    mapped
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn title_matches(expected: &str, got: &str) -> bool {
    // Fundus titles are cleaned headlines, metascraper's keep what the page says; a title
    // holding the expected one (plus a site suffix, say) agrees.
    norm(got).contains(&norm(expected))
}

fn url_key(s: &str) -> String {
    let s = s.trim().replace("&amp;", "&");
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(&s);
    s.trim_end_matches('/').to_owned()
}

fn image_matches(expected: &str, got: &Url) -> bool {
    let (e, g) = (url_key(expected), url_key(got.as_str()));
    if e == g {
        return true;
    }
    // metascraper re-serialises URLs (percent-encoding): compare through the url crate.
    Url::parse(expected)
        .map(|u| url_key(u.as_str()) == g)
        .unwrap_or(false)
}

/// An expected date: with an offset, or naive (fundus stores some as local time).
fn expected_date(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%:z").ok())
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc().fixed_offset())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc().fixed_offset())
        })
}

fn date_matches(expected: &str, got: &DateTime<FixedOffset>) -> bool {
    let Some(e) = expected_date(expected) else {
        return false;
    };
    let same_day = expected.get(..10) == Some(&got.format("%Y-%m-%d").to_string())
        || e.date_naive() == got.naive_utc().date();
    same_day || (e - *got).num_hours().abs() < 24
}

fn author_matches(expected: &str, names: &[String], got: &str) -> bool {
    let g = norm(got);
    if !names.is_empty() {
        return names.iter().all(|n| g.contains(&norm(n)));
    }
    g.contains(&norm(expected))
}

#[derive(Default)]
struct Rate {
    hits: usize,
    total: usize,
}

impl Rate {
    fn add(&mut self, hit: bool) {
        self.total += 1;
        self.hits += usize::from(hit);
    }
    fn value(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.hits as f64 / self.total as f64
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} ({:.1}%)",
            self.hits,
            self.total,
            100.0 * self.value()
        )
    }
}

#[derive(Default)]
struct Report {
    title: Rate,
    image: Rate,
    date: Rate,
    author: Rate,
    description: Rate,
    missing_titles: Vec<String>,
    misses: Vec<[String; 4]>,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn evaluate(cases: &[Case], prepare: impl Fn(&[u8]) -> &[u8]) -> Report {
    let mut report = Report::default();
    for case in cases {
        let url = Url::parse(str_at(&case.meta, &["url"]).unwrap()).unwrap();
        let meta: PageMetadata = extract(prepare(&case.page), None, &url);
        let mut miss = |field: &str, expected: &str, got: Option<String>| {
            report.misses.push([
                case.name.clone(),
                field.to_owned(),
                expected.to_owned(),
                got.unwrap_or_else(|| "∅".to_owned()),
            ]);
        };

        if meta.title.is_none() {
            report.missing_titles.push(case.name.clone());
        }
        if let Some(expected) = str_at(&case.meta, &["expected", "title"]) {
            let hit = meta
                .title
                .as_deref()
                .is_some_and(|t| title_matches(expected, t));
            report.title.add(hit);
            if !hit {
                miss("title", expected, meta.title.clone());
            }
        }

        let image_prefix = str_at(&case.meta, &["checks", "image", "startswith"]);
        if let Some(expected) = str_at(&case.meta, &["expected", "image"]) {
            let hit = meta.image.as_ref().is_some_and(|got| {
                image_matches(expected, got)
                    || image_prefix.is_some_and(|p| url_key(got.as_str()).starts_with(&url_key(p)))
            });
            report.image.add(hit);
            if !hit {
                miss("image", expected, meta.image.as_ref().map(Url::to_string));
            }
        }

        let date_present = case.meta.pointer("/checks/date/present") == Some(&Value::Bool(true));
        let got_date = meta.published.map(|d| d.to_rfc3339());
        if let Some(expected) = str_at(&case.meta, &["expected", "date"]) {
            let hit = meta
                .published
                .as_ref()
                .is_some_and(|d| date_matches(expected, d));
            report.date.add(hit);
            if !hit {
                miss("date", expected, got_date);
            }
        } else if date_present {
            report.date.add(meta.published.is_some());
            if meta.published.is_none() {
                miss("date", "(present)", None);
            }
        }

        if let Some(expected) = str_at(&case.meta, &["expected", "author"]) {
            let names: Vec<String> = case
                .meta
                .pointer("/checks/author/contains_all")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let hit = meta
                .author
                .as_deref()
                .is_some_and(|a| author_matches(expected, &names, a));
            report.author.add(hit);
            if !hit {
                miss("author", expected, meta.author.clone());
            }
        }

        if let Some(expected) = str_at(&case.meta, &["expected", "description"]) {
            let hit = meta.description.as_deref().is_some_and(|d| {
                let (e, d) = (norm(expected), norm(d));
                let (e, d) = (e.trim_end_matches('.'), d.trim_end_matches('.'));
                e.starts_with(d) || d.starts_with(e)
            });
            report.description.add(hit);
            if !hit {
                miss("description", expected, meta.description.clone());
            }
        }
    }
    report
}

fn summary(label: &str, r: &Report) -> String {
    format!(
        "{label}: title {} | image {} | date {} | author {} | description {}",
        r.title, r.image, r.date, r.author, r.description
    )
}

/// What the provider really reads: up to `</head>` when the head is enough
/// (`head_is_enough`), else the page up to the fetcher's default 2 MiB cap.
fn as_fetched(page: &[u8]) -> &[u8] {
    let cap = page.len().min(2 * 1024 * 1024);
    let end = page
        .windows(7)
        .position(|w| w.eq_ignore_ascii_case(b"</head>"))
        .map(|i| i + 7)
        .filter(|&end| notion_unfurl_opengraph::head_is_enough(&page[..end]))
        .unwrap_or(cap);
    &page[..end.min(cap)]
}

#[test]
fn extraction_agrees_with_the_corpus() {
    let Some(cases) = load_cases() else {
        println!(
            "SKIPPED: corpus not found at {} (it lives in ../shared/corpus beside the project)",
            corpus_dir().display()
        );
        return;
    };
    assert!(!cases.is_empty(), "the corpus directory holds no cases");

    let full = evaluate(&cases, |page| page);
    let fetched = evaluate(&cases, as_fetched);

    let mut table = String::new();
    writeln!(
        table,
        "{:<40} {:<12} {:<60} GOT",
        "CASE", "FIELD", "EXPECTED"
    )
    .unwrap();
    for [case, field, expected, got] in &full.misses {
        let clip = |s: &str| s.chars().take(100).collect::<String>();
        writeln!(
            table,
            "{case:<40} {field:<12} {:<60} {}",
            clip(expected),
            clip(got)
        )
        .unwrap();
    }
    println!("{table}");
    println!("{} cases", cases.len());
    println!("{}", summary("whole page", &full));
    println!("{}", summary("as fetched", &fetched));

    assert!(
        full.missing_titles.is_empty(),
        "no title found for {:?}",
        full.missing_titles
    );
    // The floors hold for what the provider really reads, not only for whole pages.
    let floors = [
        ("title", &full.title, TITLE_FLOOR),
        ("image", &full.image, IMAGE_FLOOR),
        ("date", &full.date, DATE_FLOOR),
        ("author", &full.author, AUTHOR_FLOOR),
        ("title (as fetched)", &fetched.title, TITLE_FLOOR),
        ("image (as fetched)", &fetched.image, IMAGE_FLOOR),
        ("date (as fetched)", &fetched.date, DATE_FLOOR),
        ("author (as fetched)", &fetched.author, AUTHOR_FLOOR),
    ];
    for (field, rate, floor) in floors {
        assert!(
            rate.value() >= floor,
            "{field} agreement {rate} is below {:.0}%",
            floor * 100.0
        );
    }
}
