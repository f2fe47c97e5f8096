//! CPU per cold declarative unfurl, upstream excluded: the GitLab merge-request file of
//! `providers.d/` turns its recorded answer into attributes (request rendering, JSON
//! parsing, nine attribute templates and conditions, attribute building). The answer
//! comes from a playback upstream, so no socket is involved: what remains is the cost of
//! templates and mapping, which the issue bounds at 1 ms.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use notion_unfurl_declarative::upstream::{Answer, Playback};
use notion_unfurl_declarative::{Mode, load_providers};
use notion_unfurl_sdk::Provider;
use notion_unfurl_sdk::testing::{context, request};

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../providers.d");
    let env = BTreeMap::new();
    let providers = load_providers(&dir, &env, Mode::Playback, "bench").unwrap();
    let gitlab = providers
        .iter()
        .find(|p| p.id() == "gitlab-merge-requests")
        .unwrap();
    let body = std::fs::read(dir.join("recorded/gitlab-mr-42.json")).unwrap();
    let answers = BTreeMap::from([(
        "mr".to_owned(),
        Answer {
            status: 200,
            headers: Vec::new(),
            body,
            reused: false,
        },
    )]);
    let provider = gitlab.with_upstream(Arc::new(Playback::new(answers)));
    let url = "https://gitlab.example.com/platform/api/-/merge_requests/42";
    let req = request(&provider, url).unwrap();
    let ctx = context().build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    c.bench_function("gitlab merge request: answer to attributes", |b| {
        b.iter(|| {
            let preview = runtime.block_on(provider.unfurl(&req, &ctx)).unwrap();
            assert_eq!(preview.attributes.len(), 9);
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
