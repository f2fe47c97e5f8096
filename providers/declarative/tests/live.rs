//! A loaded provider against a fake upstream on loopback: what it sends, what it makes of
//! each answer, and what it never does (send one service's token to another).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use notion_unfurl_declarative::load::load_str;
use notion_unfurl_declarative::{Declarative, Mode};
use notion_unfurl_sdk::testing::{context, request};
use notion_unfurl_sdk::{CacheScope, Provider, ProviderError, Secret};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn provider(text: &str, env: &[(&str, &str)]) -> Declarative {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let compiled = load_str(Path::new("t.toml"), text, &env, Mode::Serve).unwrap_or_else(|p| {
        panic!(
            "{}",
            p.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    Declarative::live(compiled, "notion-unfurl-test").unwrap_or_else(|e| panic!("{e}"))
}

fn tickets(base: &str, credentials: &str, extra: &str) -> String {
    format!(
        r#"id = "tickets"
name = "Acme Tickets"
domain = "tickets.example.com"
credentials = {credentials}

[[match]]
pattern = '^https://tickets\.example\.com/t/(?<id>[^/?#]+)(?:/(?<rest>.+))?$'
samples = [{{ url = "https://tickets.example.com/t/42", captures = {{ id = "42" }} }}]

[[request]]
name = "ticket"
base = "{base}/v1"
path = "/tickets/{{{{ id }}}}"
query = {{ expand = "owner" }}
headers = {{ Authorization = "Bearer {{{{ secret }}}}" }}
timeout = "1s"
max_bytes = 2048
{extra}

[[attribute]]
id = "title"
section = "title"
value = "{{{{ ticket.title }}}}"

[[attribute]]
id = "owner"
section = "secondary"
value = "{{{{ ticket.owner.name }}}}"
when = "ticket.owner"
"#
    )
}

const SECRET: &str = r#"{ kind = "secret", env = "TICKETS_TOKEN" }"#;

/// The tickets file reading from `server`, with its operator secret set.
fn tickets_provider(server: &MockServer) -> Declarative {
    provider(
        &tickets(&server.uri(), SECRET, ""),
        &[("TICKETS_TOKEN", "s")],
    )
}

async fn unfurl(
    p: &Declarative,
    url: &str,
    ctx: &notion_unfurl_sdk::Context,
) -> Result<notion_unfurl_sdk::Preview, ProviderError> {
    let req = request(p, url).unwrap_or_else(|| panic!("{url} does not route"));
    p.unfurl(&req, ctx).await
}

#[tokio::test]
async fn an_api_answer_becomes_attributes_with_the_operator_secret_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/tickets/42"))
        .and(header("authorization", "Bearer s3cret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "title": "Printer jams", "owner": {"name": "Dana"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = provider(
        &tickets(&server.uri(), SECRET, ""),
        &[("TICKETS_TOKEN", "s3cret")],
    );
    assert!(
        !p.reads_account(),
        "an operator secret does not depend on the account"
    );
    let preview = unfurl(&p, "https://tickets.example.com/t/42", &context().build())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_value(&preview.attributes).unwrap_or_default();
    assert_eq!(json[0]["inline"]["title"]["value"], "Printer jams");
    assert_eq!(json[1]["inline"]["plain_text"]["value"], "Dana");
    assert_eq!(preview.scope, CacheScope::Public);
    let sent = server.received_requests().await.unwrap_or_default();
    assert_eq!(sent[0].url.query(), Some("expand=owner"));
}

#[tokio::test]
async fn captures_are_escaped_as_one_path_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let p = tickets_provider(&server);
    let ctx = context().build();
    let result = unfurl(&p, "https://tickets.example.com/t/..%2F..%2Fadmin", &ctx).await;
    assert!(
        matches!(result, Err(ProviderError::NotFound { .. })),
        "{result:?}"
    );
    let sent = server.received_requests().await.unwrap_or_default();
    assert_eq!(sent.len(), 1);
    // `%` itself is escaped, so the upstream sees one segment, never `../../admin`.
    assert_eq!(sent[0].url.path(), "/v1/tickets/..%252F..%252Fadmin");
}

#[tokio::test]
async fn raw_captures_keep_slashes_but_never_climb_out_of_the_base() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/tickets/42/files/a/b.txt"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"title": "b.txt"})),
        )
        .mount(&server)
        .await;
    let text = tickets(&server.uri(), SECRET, "")
        .replace(
            "path = \"/tickets/{{ id }}\"",
            "path = \"/tickets/{{ id }}/files/{{ rest }}\"\nraw = [\"rest\"]",
        )
        .replace("(?:/(?<rest>.+))?$", "/(?<rest>.+)$")
        .replace(
            "t/42\", captures = { id = \"42\" }",
            "t/42/a/b.txt\", captures = { id = \"42\", rest = \"a/b.txt\" }",
        );
    let p = provider(&text, &[("TICKETS_TOKEN", "s")]);
    let ctx = context().build();
    let ok = unfurl(&p, "https://tickets.example.com/t/42/a/b.txt", &ctx).await;
    assert!(ok.is_ok(), "{ok:?}");
    // URL parsing already folds `..` away; a capture holding one anyway is refused.
    let mut req = request(&p, "https://tickets.example.com/t/42/a/b.txt")
        .unwrap_or_else(|| panic!("does not route"));
    req.captures.insert("rest".into(), "../../../admin".into());
    let climb = p.unfurl(&req, &ctx).await;
    assert!(
        matches!(climb, Err(ProviderError::NotFound { .. })),
        "{climb:?}"
    );
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        1
    );
}

/// What an error must look like.
type Expected = fn(&ProviderError) -> bool;

#[tokio::test]
async fn upstream_statuses_become_the_errors_notion_shows() {
    let cases: [(ResponseTemplate, Expected); 5] = [
        (ResponseTemplate::new(404), |e| {
            matches!(e, ProviderError::NotFound { .. })
        }),
        (ResponseTemplate::new(410), |e| {
            matches!(e, ProviderError::NotFound { .. })
        }),
        (
            ResponseTemplate::new(401),
            |e| matches!(e, ProviderError::Unauthorized { hint: Some(h) } if h.contains("Acme Tickets")),
        ),
        (
            ResponseTemplate::new(429).insert_header("retry-after", "30"),
            |e| matches!(e, ProviderError::RateLimited { retry_after: Some(d), .. } if *d == Duration::from_secs(30)),
        ),
        (ResponseTemplate::new(503), |e| {
            matches!(e, ProviderError::Upstream { status: Some(503) })
        }),
    ];
    for (answer, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let p = provider(
            &tickets(&server.uri(), SECRET, ""),
            &[("TICKETS_TOKEN", "s")],
        );
        let result = unfurl(&p, "https://tickets.example.com/t/42", &context().build()).await;
        let error = result.err().unwrap_or_else(|| panic!("no error"));
        assert!(expected(&error), "{error:?}");
    }
}

#[tokio::test]
async fn a_redirect_a_huge_answer_or_a_stall_is_bounded() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/tickets/1"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "https://evil.example/"))
        .mount(&server)
        .await;
    Mock::given(path("/v1/tickets/2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(4096)))
        .mount(&server)
        .await;
    Mock::given(path("/v1/tickets/3"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let p = tickets_provider(&server);
    let ctx = context().build();
    let redirect = unfurl(&p, "https://tickets.example.com/t/1", &ctx).await;
    assert!(
        matches!(redirect, Err(ProviderError::Upstream { status: Some(302) })),
        "{redirect:?}"
    );
    let huge = unfurl(&p, "https://tickets.example.com/t/2", &ctx).await;
    assert!(
        matches!(&huge, Err(ProviderError::Unreachable { reason }) if reason.contains("2048")),
        "{huge:?}"
    );
    let started = std::time::Instant::now();
    let stalled = unfurl(&p, "https://tickets.example.com/t/3", &ctx).await;
    assert!(
        matches!(stalled, Err(ProviderError::Timeout)),
        "{stalled:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// The fake upstream records every `Authorization` header: a provider that declares one
/// service is given that service's token and never the account's GitHub token.
#[tokio::test]
async fn a_provider_sees_only_the_token_of_the_service_it_declares() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"title": "MR"})))
        .mount(&server)
        .await;
    let text = tickets(
        &server.uri(),
        r#"{ kind = "account", service = "gitlab" }"#,
        "",
    );
    let p = provider(&text, &[]);
    assert!(p.reads_account());

    // An account linked to GitHub only: refused before anything is sent.
    let github_only = context().account("github:1", Some("gh-token")).build();
    let refused = unfurl(&p, "https://tickets.example.com/t/42", &github_only).await;
    assert!(
        matches!(&refused, Err(ProviderError::Unauthorized { hint: Some(h) }) if h.starts_with("Connect your GitLab account to preview this link")),
        "{refused:?}"
    );
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );

    // Linked to both: the GitLab token goes out, the GitHub one never does.
    let mut both = context().account("github:1", Some("gh-token")).build();
    if let Some(a) = both.account.as_mut() {
        a.services.insert("gitlab".into(), Secret::new("gl-token"));
    }
    let preview = unfurl(&p, "https://tickets.example.com/t/42", &both)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(preview.scope, CacheScope::Account);
    let sent = server.received_requests().await.unwrap_or_default();
    let authorizations: Vec<String> = sent
        .iter()
        .flat_map(|r| {
            r.headers
                .get_all("authorization")
                .iter()
                .map(|v| v.to_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(authorizations, vec!["Bearer gl-token".to_owned()]);
}

#[tokio::test]
async fn a_page_without_an_api_is_read_with_selectors_through_the_guarded_fetcher() {
    let server = MockServer::start().await;
    Mock::given(path("/guides/setup"))
        .respond_with(ResponseTemplate::new(200).insert_header("content-type", "text/html").set_body_string(
            "<html><head><meta name=\"updated\" content=\"2026-10-01\"></head><body>\
             <nav>Home</nav><h1 class=\"t\"> Setting   up </h1><p class=\"lead\">First steps.</p></body></html>",
        ))
        .mount(&server)
        .await;
    let host = server.address().to_string();
    let domain = server.address().ip().to_string();
    let text = format!(
        r#"id = "guides"
name = "Guides"
domain = "{domain}"

[[match]]
pattern = '^http://{host}/guides/(?<slug>[a-z-]+)$'
samples = [{{ url = "http://{host}/guides/setup", captures = {{ slug = "setup" }} }}]

[page]
fields = {{ title = "h1.t", lead = "p.lead", updated = "meta[name=updated]@content", missing = ".nope" }}

[[attribute]]
id = "title"
section = "title"
value = "{{{{ page.title }}}}"

[[attribute]]
id = "lead"
section = "body"
value = "{{{{ page.lead }}}}"

[[attribute]]
id = "updated"
section = "secondary"
type = "date"
value = "{{{{ page.updated }}}}"

[[attribute]]
id = "missing"
section = "secondary"
value = "{{{{ page.missing }}}}"
when = "page.missing"
"#
    );
    let p = provider(&text, &[]);
    let url = format!("http://{host}/guides/setup");
    // The guarded fetcher refuses loopback unless the policy allows it.
    let blocked = unfurl(&p, &url, &context().build()).await;
    assert!(
        matches!(blocked, Err(ProviderError::Blocked { .. })),
        "{blocked:?}"
    );
    let preview = unfurl(&p, &url, &context().allow_loopback().build())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_value(&preview.attributes).unwrap_or_default();
    assert_eq!(json[0]["inline"]["title"]["value"], "Setting up");
    assert_eq!(json[1]["inline"]["plain_text"]["value"], "First steps.");
    assert_eq!(json[2]["inline"]["date"]["value"], "2026-10-01");
    assert_eq!(json.as_array().map(Vec::len), Some(3));
}

/// An answer with an `ETag` is asked for again with `If-None-Match`; a `304` serves the
/// kept answer, so an unchanged ticket (a refresh round, say) costs the upstream nothing.
#[tokio::test]
async fn an_unchanged_answer_is_read_again_with_a_conditional_request() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/tickets/42"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/tickets/42"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .set_body_json(serde_json::json!({"title": "Printer jams"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let p = tickets_provider(&server);
    let ctx = context().build();
    let mut read = Vec::new();
    for _ in 0..2 {
        let preview = unfurl(&p, "https://tickets.example.com/t/42", &ctx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_value(&preview.attributes).unwrap_or_default();
        assert_eq!(json[0]["inline"]["title"]["value"], "Printer jams");
        read.push(preview.bytes_read);
    }
    // The 304 read no body: nothing counted in `notion_unfurl_upstream_read_bytes`.
    assert!(read[0] > 0 && read[1] == 0, "{read:?}");
    // `expect` on each mock is checked when the server drops: one full read, one 304.
}

#[tokio::test]
async fn an_unreachable_upstream_says_why_for_the_log() {
    // Nothing listens there: the log must say "refused", not only "error sending request"
    // (a wrong base_env, a certificate the host does not trust).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let base = format!(
        "http://{}",
        closed.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    drop(closed);
    let p = provider(&tickets(&base, SECRET, ""), &[("TICKETS_TOKEN", "s")]);
    let failed = unfurl(&p, "https://tickets.example.com/t/1", &context().build()).await;
    assert!(
        matches!(&failed, Err(ProviderError::Unreachable { reason }) if reason.to_lowercase().contains("refused")),
        "{failed:?}"
    );
}
