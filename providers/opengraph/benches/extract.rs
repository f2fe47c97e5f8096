//! Extraction time per page over the shared corpus (`../shared/corpus`, read in place).
//!
//! Two views: the whole page as stored, and the page cut after `</head>`, which is what
//! the provider really parses (the guarded client stops reading there). Criterion reports
//! the time for one pass over every page; divide by the page count printed first for the
//! mean per page. A third case is a hostile page (deeply nested tags) at the fetch cap.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use notion_unfurl_sdk::Url;

fn load() -> Vec<(Url, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("corpus not found at {}: nothing to bench", dir.display());
        return Vec::new();
    };
    let mut pages: Vec<(Url, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").is_file() && p.join("page.html").is_file())
        .map(|p| {
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(p.join("meta.json")).unwrap()).unwrap();
            let url = Url::parse(meta["url"].as_str().unwrap()).unwrap();
            (url, std::fs::read(p.join("page.html")).unwrap())
        })
        .collect();
    pages.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    pages
}

fn head_only(page: &[u8]) -> &[u8] {
    let end = page
        .windows(7)
        .position(|w| w.eq_ignore_ascii_case(b"</head>"))
        .map_or(page.len(), |i| i + 7);
    &page[..end]
}

fn bench(c: &mut Criterion) {
    let pages = load();
    if pages.is_empty() {
        return;
    }
    let heads: Vec<(&Url, &[u8])> = pages.iter().map(|(u, p)| (u, head_only(p))).collect();
    let whole_bytes: usize = pages.iter().map(|(_, p)| p.len()).sum();
    let head_bytes: usize = heads.iter().map(|(_, p)| p.len()).sum();
    println!(
        "{} pages: {:.1} MiB whole, {:.1} MiB up to </head>",
        pages.len(),
        whole_bytes as f64 / 1048576.0,
        head_bytes as f64 / 1048576.0
    );

    let mut group = c.benchmark_group("extract_corpus");
    group.sample_size(10);
    // Elements = pages, so criterion also prints pages per second.
    group.throughput(Throughput::Elements(pages.len() as u64));
    group.bench_function("whole_page", |b| {
        b.iter(|| {
            for (url, page) in &pages {
                black_box(notion_unfurl_opengraph::extract(black_box(page), None, url));
            }
        })
    });
    group.bench_function("head_only", |b| {
        b.iter(|| {
            for (url, page) in &heads {
                black_box(notion_unfurl_opengraph::extract(black_box(page), None, url));
            }
        })
    });
    group.finish();
}

/// The worst page the fetch cap lets in: 2 MiB of nested `<div>`, whose full parse would
/// take minutes (the tree builder is quadratic in depth); `extract::MAX_TAGS` bounds it.
fn hostile(c: &mut Criterion) {
    let url = Url::parse("https://example.com/").unwrap();
    let mut page = b"<html><head><title>deep</title></head><body>".to_vec();
    while page.len() < 2 * 1024 * 1024 {
        page.extend_from_slice(b"<div>");
    }
    let mut group = c.benchmark_group("extract_hostile");
    group.sample_size(10);
    group.bench_function("nested_divs_2mib", |b| {
        b.iter(|| {
            black_box(notion_unfurl_opengraph::extract(
                black_box(&page),
                None,
                &url,
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, bench, hostile);
criterion_main!(benches);
