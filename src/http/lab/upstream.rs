//! The upstream requests a link's provider made while the lab unfurled it (issue 9, item 6),
//! as the SDK's clients noted them ([`notion_unfurl_sdk::trace`]): host, path, status, time
//! and bytes per request. The notes hold no query and no header, so no credential reaches
//! the page.

use std::fmt::Write as _;

use html_escape::encode_text as text;
use notion_unfurl_sdk::trace::{Call, Recorded};

use crate::unfurl::CacheUse;

/// The trace of one unfurl: a sentence on where the answer came from, then a table
/// (`id="upstream"`) of the requests, when there were any.
pub fn table(recorded: &Recorded, cache: CacheUse) -> String {
    let lead = match (cache, recorded.calls.is_empty()) {
        (CacheUse::Hit, _) => {
            return "<p id=\"upstream-none\">No upstream request: the answer came from the \
                    cache, so the provider was not asked. Tick <i>refresh</i> to see its \
                    requests.</p>"
                .to_owned();
        }
        (CacheUse::NoProvider, _) => return String::new(),
        (_, true) => {
            return "<p id=\"upstream-none\">The provider made no upstream request for this \
                    answer (it answered from what it had, or from a read another request had \
                    started).</p>"
                .to_owned();
        }
        (_, false) => {
            "Each request the provider sent, as our HTTP clients saw it: the query and every \
             header left out, as they may hold credentials."
        }
    };
    let mut out = format!(
        "<p class=\"muted\">{lead}</p><table id=\"upstream\"><tr><th>method</th><th>host</th>\
         <th>path</th><th>status</th><th>time</th><th>body</th><th>answer</th></tr>"
    );
    for call in &recorded.calls {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{} ms</td>\
             <td>{} B</td><td>{}</td></tr>",
            text(&call.method),
            text(&call.host),
            text(&call.path),
            call.status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "–".to_owned()),
            call.millis,
            call.bytes,
            text(&answer(call)),
        );
    }
    out.push_str("</table>");
    out
}

/// What came of a request, in a few words.
fn answer(call: &Call) -> String {
    match (&call.failure, call.status) {
        (Some(failure), _) => format!("failed: {failure}"),
        _ if call.is_conditional_hit() => {
            "conditional hit: unchanged, the kept answer was reused".to_owned()
        }
        (None, Some(200..=299)) => "read".to_owned(),
        (None, Some(300..=399)) => "redirect".to_owned(),
        (None, Some(_)) => "refused or failed upstream".to_owned(),
        (None, None) => "no answer".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(status: Option<u16>, failure: Option<&str>) -> Call {
        Call {
            method: "GET".into(),
            host: "api.test".into(),
            path: "/v1/<x>".into(),
            status,
            millis: 12,
            bytes: 34,
            failure: failure.map(str::to_owned),
            body: None,
        }
    }

    #[test]
    fn each_request_is_a_row_and_a_cache_hit_says_none_was_made() {
        let recorded = Recorded {
            calls: vec![
                call(Some(200), None),
                call(Some(304), None),
                call(None, Some("timed out")),
            ],
            bodies_cut: false,
        };
        let html = table(&recorded, CacheUse::Miss);
        assert!(html.contains("<code>/v1/&lt;x&gt;</code>"), "{html}");
        assert!(html.contains("<td>200</td><td>12 ms</td><td>34 B</td><td>read</td>"));
        assert!(html.contains("conditional hit"));
        assert!(html.contains("failed: timed out"));
        let hit = table(&Recorded::default(), CacheUse::Hit);
        assert!(hit.contains("No upstream request: the answer came from the cache"));
        assert!(!hit.contains("<table"));
    }
}
