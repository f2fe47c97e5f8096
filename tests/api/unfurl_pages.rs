//! Unfurling real pages from a local origin: extraction, charsets, URLs, failures, limits,
//! single flight and the cache.

use std::time::Duration;

use crate::helpers::{TestApp, attribute, corpus_dir, error_op, spawn_app, spawn_origin, title};

/// Real pages from the shared corpus, across languages and publishers.
const CASES: &[&str] = &[
    "metascraper-the-verge",
    "metascraper-techcrunch",
    "metascraper-the-guardian",
    "metascraper-wikipedia",
    "metascraper-nytimes-opinion",
    "metascraper-smitten-kitchen",
    "metascraper-substack",
    "metascraper-arstechnica",
    "fundus-uk-BBC-V1",
    "fundus-us-Reuters-V1",
    "fundus-de-Heise-V1",
    "fundus-jp-AsahiShimbun-V1",
    "fundus-fr-LesEchos-V1",
    "fundus-es-ElDiario-V1",
    "fundus-de-Taz-V2",
    "fundus-us-TechCrunch-V1",
];

fn normalise(s: &str) -> String {
    s.replace(['\u{2019}', '\u{2018}'], "'")
        .replace(['\u{201c}', '\u{201d}'], "\"")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[tokio::test]
async fn real_pages_unfurl_with_title_and_dev() {
    if !corpus_dir().is_dir() {
        eprintln!("skipped: ../shared/corpus is not beside this repository");
        return;
    }
    let app = spawn_app().await;
    let mut mismatches = Vec::new();
    for case in CASES {
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(corpus_dir().join(case).join("meta.json")).unwrap(),
        )
        .unwrap();
        let uri = app.origin_url(&format!("/corpus/{case}"));
        let body = app.unfurl(&uri).await;
        assert_eq!(body["uri"], uri.as_str());
        assert!(error_op(&body).is_none(), "{case}: {body}");
        let got = title(&body).unwrap_or_else(|| panic!("{case}: no title in {body}"));
        let dev = attribute(&body, "dev").unwrap_or_else(|| panic!("{case}: no dev"));
        assert_eq!(dev["inline"]["plain_text"]["value"], "Test Dev");
        assert_eq!(dev["inline"]["plain_text"]["section"], "secondary");
        if let Some(expected) = meta["expected"]["title"].as_str() {
            let (got_n, expected_n) = (normalise(&got), normalise(expected));
            if !got_n.contains(&expected_n) && !expected_n.contains(&got_n) {
                mismatches.push(format!("{case}: expected {expected:?}, got {got:?}"));
            }
        }
        // Nothing is ever sent empty.
        for attr in body["operations"][0]["set"].as_array().unwrap() {
            let inline = &attr["inline"];
            if let Some(obj) = inline.as_object() {
                for value in obj.values() {
                    if let Some(text) = value["value"].as_str() {
                        assert!(!text.trim().is_empty(), "{case}: empty {attr}");
                    }
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "titles that do not match the corpus:\n{}",
        mismatches.join("\n")
    );
}

#[tokio::test]
async fn legacy_charsets_are_decoded() {
    let app = spawn_app().await;
    let cases = [
        ("/latin1", "Café crème à la carte"),
        ("/windows1252", "\u{201c}Quoted\u{201d} \u{2013} naïve"),
        ("/shift_jis", "日本語のページ"),
    ];
    for (path, expected) in cases {
        let body = app.unfurl(&app.origin_url(path)).await;
        assert_eq!(title(&body).as_deref(), Some(expected), "{path}: {body}");
    }
}

#[tokio::test]
async fn relative_urls_resolve_against_base_and_page() {
    let app = spawn_app().await;
    let body = app.unfurl(&app.origin_url("/relative")).await;
    assert_eq!(
        attribute(&body, "image").map(|a| &a["embed"]["src_url"]),
        Some(&serde_json::json!(
            "https://cdn.example.test/assets/img/cover.png"
        )),
        "{body}"
    );
    assert_eq!(
        attribute(&body, "icon").map(|a| &a["embed"]["src_url"]),
        Some(&serde_json::json!("https://cdn.example.test/favicon.png")),
        "{body}"
    );
    assert_eq!(
        attribute(&body, "icon").unwrap()["embed"]["image"]["section"],
        "entity"
    );

    let body = app.unfurl(&app.origin_url("/relative-no-base")).await;
    assert_eq!(title(&body).as_deref(), Some("No base"));
    // The page is served over http, so a protocol-relative image is http: Notion only loads
    // https media, so it is left out rather than sent.
    assert!(attribute(&body, "image").is_none(), "{body}");
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_before_any_request() {
    let app = spawn_app().await;
    // 127.0.0.2 is loopback too, but not in UNFURL_FETCH_ALLOW (127.0.0.1/32).
    let private = spawn_origin("127.0.0.2").await;
    let targets = [
        format!("{}/corpus/metascraper-bbc", private.base),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://[::1]/".to_owned(),
        // 127.0.0.2 spelled as one decimal number; the url crate normalises it.
        format!(
            "http://2130706434:{}/",
            private.base.rsplit(':').next().unwrap_or("80")
        ),
    ];
    for target in targets {
        let uri = app.origin_url(&format!(
            "/redirect?to={}",
            url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
        ));
        let body = app.unfurl(&uri).await;
        let error = error_op(&body).unwrap_or_else(|| panic!("{target}: {body}"));
        assert_eq!(error["status"], 403, "{target}: {body}");
        assert!(attribute(&body, "title").is_none());
    }
    assert_eq!(
        private.log.total(),
        0,
        "a request reached the private address"
    );
}

#[tokio::test]
async fn a_private_address_pasted_directly_is_refused() {
    let app = spawn_app().await;
    let private = spawn_origin("127.0.0.2").await;
    let body = app.unfurl(&format!("{}/corpus/x", private.base)).await;
    assert_eq!(
        error_op(&body).map(|e| e["status"].clone()),
        Some(403.into())
    );
    assert_eq!(private.log.total(), 0);
    // An IPv6 literal is routed like any host, then refused by the fetch policy.
    let body = app.unfurl("http://[::1]/").await;
    assert_eq!(
        error_op(&body).map(|e| e["status"].clone()),
        Some(403.into()),
        "{body}"
    );
}

#[tokio::test]
async fn upstream_failures_become_error_operations() {
    let app = spawn_app().await;
    let cases = [
        ("/status/404", 404),
        ("/status/410", 404),
        ("/status/500", 502),
        ("/status/503", 502),
    ];
    for (path, status) in cases {
        let body = app.unfurl(&app.origin_url(path)).await;
        let error = error_op(&body).unwrap_or_else(|| panic!("{path}: {body}"));
        assert_eq!(error["status"], status, "{path}");
        let message = error["message"].as_str().unwrap();
        assert!(message.ends_with('.') && message.len() < 120, "{message}");
    }
}

#[tokio::test]
async fn a_256_mib_page_is_answered_with_bounded_reading() {
    let app = spawn_app().await;
    let body = app.unfurl(&app.origin_url("/huge")).await;
    assert_eq!(title(&body).as_deref(), Some("Huge page"), "{body}");
    let sent = app
        .origin
        .log
        .huge_bytes_sent
        .load(std::sync::atomic::Ordering::SeqCst);
    // The fetcher stops at its 2 MiB cap and drops the connection. Until then
    // the kernel may have accepted up to a full receive buffer on our side and
    // a full send buffer on the origin's, both of which autotune up to the
    // sysctl maxima (32 MiB and 4 MiB on Debian's defaults), so the bound is
    // taken from the machine rather than guessed.
    let bound = 2 * MIB + socket_buffer_max("tcp_rmem") + socket_buffer_max("tcp_wmem") + 8 * MIB;
    let page = crate::helpers::HUGE_CHUNKS * 64 * 1024;
    assert!(bound < page / 2, "the page must dwarf the socket buffers");
    eprintln!("origin sent {sent} of {page} bytes (bound {bound})");
    assert!(
        sent < bound,
        "origin had to send {sent} bytes (bound {bound})"
    );
}

const MIB: usize = 1024 * 1024;

/// The largest size the kernel lets a TCP buffer grow to (the third field of
/// `/proc/sys/net/ipv4/tcp_rmem` or `tcp_wmem`); 32 MiB where unreadable.
fn socket_buffer_max(name: &str) -> usize {
    std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(32 * MIB)
}

#[tokio::test]
async fn a_stalled_origin_does_not_hold_up_other_requests_and_times_out() {
    let app = TestApp::builder()
        .with_env(&[("UNFURL_FETCH_TIMEOUT_SECS", "4")])
        .spawn()
        .await;
    let stalled = {
        let client = app.client.clone();
        let url = app.unfurl_url();
        let token = app.token.clone();
        let uri = app.origin_url("/stall");
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({ "uri": uri }))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        })
    };
    // Wait until the stalled fetch reached the origin, then unfurl something else.
    while app.origin.log.hits("/stall") == 0 {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let body = app.unfurl(&app.origin_url("/relative")).await;
    assert_eq!(title(&body).as_deref(), Some("Relative"));
    assert!(
        !stalled.is_finished(),
        "the stalled unfurl should still be waiting"
    );
    let stalled = stalled.await.unwrap();
    assert_eq!(
        error_op(&stalled).map(|e| e["status"].clone()),
        Some(504.into()),
        "{stalled}"
    );
}

#[tokio::test]
async fn concurrent_unfurls_of_one_url_make_one_origin_request_and_then_hit_the_cache() {
    let app = spawn_app().await;
    let uri = app.origin_url("/slow/once");
    // Two accounts at once: a public page looks the same to both, so they share the fetch.
    let second_account = notion_unfurl::cli::local_token(&app.app_state, "local:second")
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..16 {
        let client = app.client.clone();
        let url = app.unfurl_url();
        let token = if n % 2 == 0 {
            app.token.clone()
        } else {
            second_account.clone()
        };
        let uri = uri.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({ "uri": uri }))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }));
    }
    for task in tasks {
        let body = task.await.unwrap();
        assert_eq!(title(&body).as_deref(), Some("Slow but fine"), "{body}");
    }
    assert_eq!(app.origin.log.hits("/slow/once"), 1);

    // Later unfurls, by this account or another, come from the cache.
    let body = app.unfurl(&uri).await;
    assert_eq!(title(&body).as_deref(), Some("Slow but fine"));
    let other = notion_unfurl::cli::local_token(&app.app_state, "local:another-account")
        .await
        .unwrap();
    let response = app
        .client
        .post(app.unfurl_url())
        .bearer_auth(other)
        .json(&serde_json::json!({ "uri": uri }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.origin.log.hits("/slow/once"), 1);
}

#[tokio::test]
async fn failures_are_cached_briefly() {
    let app = spawn_app().await;
    let uri = app.origin_url("/status/500");
    app.unfurl(&uri).await;
    app.unfurl(&uri).await;
    assert_eq!(app.origin.log.hits("/status/500"), 1);
}

#[tokio::test]
async fn a_direct_image_url_previews_as_media_named_after_the_file() {
    let app = spawn_app().await;
    let body = app.unfurl(&app.origin_url("/photo.png")).await;
    assert_eq!(title(&body).as_deref(), Some("photo.png"), "{body}");
    // The provider leaves `dev` out; the server adds exactly one.
    let set = body["operations"][0]["set"].as_array().unwrap();
    assert_eq!(set.iter().filter(|a| a["id"] == "dev").count(), 1, "{body}");
}
