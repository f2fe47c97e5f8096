//! A careless provider file is refused at load with one line per problem: the file, the
//! line, and the fix.

use std::collections::BTreeMap;
use std::path::Path;

use notion_unfurl_declarative::load::load_str;
use notion_unfurl_declarative::{Mode, Problem};

/// A valid file; each test breaks one thing in it.
const GOOD: &str = r#"id = "tickets"
name = "Acme Tickets"
domain = "tickets.example.com"
credentials = { kind = "secret", env = "TICKETS_TOKEN" }

[[match]]
pattern = '^https://tickets\.example\.com/t/(?<id>[0-9]+)$'
samples = [{ url = "https://tickets.example.com/t/42", captures = { id = "42" } }]
reject = ["https://tickets.example.com.evil.org/t/42"]

[[request]]
name = "ticket"
base = "https://api.tickets.example.com/v1"
path = "/tickets/{{ id }}"
headers = { Authorization = "Bearer {{ secret }}" }

[[attribute]]
id = "title"
section = "title"
value = "{{ ticket.title }}"

[[attribute]]
id = "status"
section = "primary"
type = "enum"
value = "{{ ticket.status }}"
"#;

fn env() -> BTreeMap<String, String> {
    BTreeMap::from([("TICKETS_TOKEN".to_owned(), "s3cret".to_owned())])
}

fn problems(text: &str) -> Vec<Problem> {
    load_str(Path::new("t.toml"), text, &env(), Mode::Serve)
        .err()
        .unwrap_or_default()
}

/// The one problem of `text`, as printed.
fn one(text: &str) -> String {
    let found = problems(text);
    assert_eq!(found.len(), 1, "{found:#?}");
    found[0].to_string()
}

fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_good_file_loads() {
    assert!(problems(GOOD).is_empty(), "{:#?}", problems(GOOD));
}

#[test]
fn unknown_keys_name_the_line() {
    let p = one(&edit(
        "name = \"ticket\"",
        "name = \"ticket\"\nmethod = \"POST\"",
    ));
    assert!(p.starts_with("t.toml:13: "), "{p}");
    assert!(p.contains("unknown field `method`"), "{p}");
}

#[test]
fn a_bad_or_unanchored_regex_is_refused() {
    let p = one(&edit("[0-9]+)$'", "[0-9+)$'"));
    assert!(
        p.starts_with("t.toml:7: the pattern does not compile"),
        "{p}"
    );
    let found = problems(&edit("'^https", "'https"));
    assert!(
        found
            .iter()
            .any(|p| p.to_string().contains("must be anchored")),
        "{found:#?}"
    );
}

#[test]
fn samples_must_match_with_their_captures_and_rejects_must_not() {
    let p = one(&edit(
        "captures = { id = \"42\" }",
        "captures = { id = \"43\" }",
    ));
    assert!(p.starts_with("t.toml:8: sample"), "{p}");
    assert!(
        p.contains("captures {\"id\": \"42\"}, the file says {\"id\": \"43\"}"),
        "{p}"
    );
    let p = one(&edit("t/42\", captures", "t/x\", captures"));
    assert!(p.contains("does not match the pattern"), "{p}");
    let p = one(&edit(".evil.org/t/42\"]", "/t/43\"]"));
    assert!(p.starts_with("t.toml:9: reject"), "{p}");
}

#[test]
fn a_pattern_that_lets_a_spoofed_host_through_is_refused() {
    let found = problems(&edit(
        r"tickets\.example\.com/t/",
        r"tickets\.example\.com.*/t/",
    ));
    let text: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(
        text.contains(&"t.toml:7: the pattern also matches \"https://tickets.example.com.evil.example/t/42\": escape the dots and end the host with '/'".to_owned()),
        "{text:#?}"
    );
    // The file's own reject says so too.
    assert!(
        text.iter().any(|p| p.starts_with("t.toml:9: reject")),
        "{text:#?}"
    );
}

#[test]
fn a_section_notion_refuses_for_the_type_says_where_it_goes() {
    let p = one(&edit("section = \"primary\"", "section = \"secondary\""));
    assert_eq!(
        p,
        "t.toml:24: section \"secondary\" does not take \"enum\"; \"enum\" goes in: primary"
    );
    let p = one(&edit("type = \"enum\"", "type = \"emoji\""));
    assert!(
        p.starts_with("t.toml:25: type \"emoji\" is not one of Notion's"),
        "{p}"
    );
}

#[test]
fn templates_may_read_only_names_that_exist_there() {
    let p = one(&edit("/tickets/{{ id }}", "/tickets/{{ idd }}"));
    assert_eq!(
        p,
        "t.toml:14: template reads \"idd\", which is not defined here (names here: id, url)"
    );
    // The secret goes in headers, never into a preview.
    let p = one(&edit("{{ ticket.status }}", "{{ secret }}"));
    assert!(p.contains("may only be used in request headers"), "{p}");
    let p = one(&edit("{{ ticket.title }}", "{{ ticket.title "));
    assert!(p.starts_with("t.toml:20: template"), "{p}");
}

#[test]
fn a_missing_secret_stops_the_load_and_names_the_variable() {
    let found = load_str(Path::new("t.toml"), GOOD, &BTreeMap::new(), Mode::Serve)
        .err()
        .unwrap_or_default();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].to_string(),
        "t.toml:4: environment variable TICKETS_TOKEN is not set: set it to the API token for Acme Tickets"
    );
}

#[test]
fn account_credentials_are_never_cached_publicly() {
    let text = edit(
        "credentials = { kind = \"secret\", env = \"TICKETS_TOKEN\" }",
        "credentials = { kind = \"account\", service = \"tickets\" }\n[cache]\nscope = \"public\"",
    )
    .replace("headers = { Authorization = \"Bearer {{ secret }}\" }", "");
    // `[cache]` before `[[match]]` is valid TOML; the scope is what must be refused.
    let p = one(&text);
    assert!(p.contains("per account is forced"), "{p}");
}

#[test]
fn a_file_needs_a_title_and_something_to_read() {
    let text = GOOD.replace("section = \"title\"", "section = \"secondary\"");
    let p = one(&text);
    assert!(p.contains("Notion needs a title"), "{p}");
    let start = GOOD.find("[[request]]").unwrap_or_default();
    let end = GOOD.find("[[attribute]]").unwrap_or_default();
    let text = format!("{}{}", &GOOD[..start], &GOOD[end..])
        .replace(
            "credentials = { kind = \"secret\", env = \"TICKETS_TOKEN\" }\n",
            "",
        )
        .replace("{{ ticket.title }}", "x")
        .replace("{{ ticket.status }}", "y");
    let p = one(&text);
    assert!(p.contains("the file reads nothing"), "{p}");
}

#[test]
fn a_regex_too_large_is_refused_at_load() {
    // Valid syntax, but a compiled program far over the size limit.
    let text = edit(r"(?<id>[0-9]+)$'", r"(?<id>[0-9]+)(?:\w{1000}){0,100}$'");
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|p| p.to_string().contains("does not compile")
                && p.to_string().contains("size limit")),
        "{found:#?}"
    );
}

#[test]
fn a_refresh_interval_is_bounded_and_works_per_account_too() {
    let with = |refresh: &str| format!("{GOOD}\n[cache]\nrefresh = \"{refresh}\"\n");
    let ok = load_str(Path::new("t.toml"), &with("5m"), &env(), Mode::Serve)
        .unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(ok.refresh, Some(std::time::Duration::from_secs(300)));
    let p = one(&with("5s"));
    assert!(
        p.contains("refresh \"5s\": write a duration from 30s to 1d"),
        "{p}"
    );
    let account = with("5m")
        .replace(
            "credentials = { kind = \"secret\", env = \"TICKETS_TOKEN\" }",
            "credentials = { kind = \"account\", service = \"tickets\" }",
        )
        .replace("headers = { Authorization = \"Bearer {{ secret }}\" }", "");
    // Per account: each subscriber's account reads it again (see src/live/files.rs).
    let per_account = load_str(Path::new("t.toml"), &account, &env(), Mode::Serve)
        .unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(
        per_account.refresh,
        Some(std::time::Duration::from_secs(300))
    );
    assert_eq!(per_account.scope, notion_unfurl_sdk::CacheScope::Account);
}

#[test]
fn a_recorded_answer_has_its_body_in_a_file_or_inline_not_both() {
    let test = "\n[[test]]\nurl = \"https://tickets.example.com/t/42\"\n\
                responses = { ticket = { file = \"recorded/t.json\", body = \"{}\" } }\n";
    let p = one(&format!("{GOOD}{test}"));
    assert!(p.starts_with("t.toml:29: "), "{p}");
    assert!(
        p.contains("answer \"ticket\" has its body in a file or in `body`, not both"),
        "{p}"
    );
}

#[tokio::test]
async fn a_test_with_inline_answers_and_attributes_plays_without_files() {
    let test = r#"
[[test]]
url = "https://tickets.example.com/t/42"
responses = { ticket = { body = '{"title": "Printer jams", "status": "open"}' } }
expect = [
  { id = "title", name = "Title", type = "inline", inline = { title = { value = "Printer jams", section = "title" } } },
  { id = "status", name = "Status", type = "inline", inline = { enum = { value = "open", section = "primary" } } },
]
"#;
    let text = format!("{GOOD}{test}");
    let provider = load_str(Path::new("t.toml"), &text, &env(), Mode::Playback)
        .unwrap_or_else(|p| panic!("{p:#?}"));
    let provider = notion_unfurl_declarative::Declarative::live(provider, "t")
        .unwrap_or_else(|e| panic!("{e}"));
    let outcomes =
        notion_unfurl_declarative::run_tests(std::slice::from_ref(&provider), false).await;
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].failure, None, "{:?}", outcomes[0].result);
    let wrong = text.replace("value = \"Printer jams\"", "value = \"Printer fixed\"");
    let provider = load_str(Path::new("t.toml"), &wrong, &env(), Mode::Playback)
        .unwrap_or_else(|p| panic!("{p:#?}"));
    let provider = notion_unfurl_declarative::Declarative::live(provider, "t")
        .unwrap_or_else(|e| panic!("{e}"));
    let outcomes = notion_unfurl_declarative::run_tests(&[provider], false).await;
    let failure = outcomes[0].failure.clone().unwrap_or_default();
    assert!(
        failure.contains("attributes differ from the test's own `expect`"),
        "{failure}"
    );
}
