//! A live unfurl written as a recorded test (the preview lab's "save as test"): the file's
//! provider runs once against its real upstream through a [`Tape`], and what it was answered
//! and what it made become a `[[test]]` block, answers and attributes inline, to paste at
//! the end of the file. `providers test` then plays it like any other test.
//!
//! No header is written but an answer's `content-type` (headers may carry cookies or
//! tokens); bodies are written as the upstream sent them, so the one saving the test
//! removes anything private before committing it.

use std::collections::BTreeMap;
use std::sync::Arc;

use notion_unfurl_sdk::{Context, Provider};
use serde::Serialize;

use crate::check::kind;
use crate::provider::Declarative;
use crate::spec::{Expect, Recorded};
use crate::upstream::Tape;

/// The one header an answer keeps: the page reader decides by it whether a page is HTML.
const KEPT_HEADER: &str = "content-type";

/// Why a live unfurl could not be saved as a test.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveError {
    #[error("{0} matches none of the file's patterns")]
    NoMatch(String),
    #[error("the upstream answers are larger than {0} bytes together")]
    TooLarge(usize),
    #[error("the answer to {0:?} is not text, so it cannot be written into the file")]
    NotText(String),
    #[error("the test could not be written: {0}")]
    Write(String),
}

#[derive(Serialize)]
struct Snippet {
    test: Vec<SavedTest>,
}

#[derive(Serialize)]
struct SavedTest {
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    responses: BTreeMap<String, Recorded>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expect: Option<Expect>,
}

/// Runs `provider` on `url` for `ctx` against its upstream, keeping at most `max_bytes` of
/// answers, and writes the `[[test]]` block that replays it.
pub async fn save(
    provider: &Declarative,
    url: &str,
    ctx: &Context,
    max_bytes: usize,
) -> Result<String, SaveError> {
    let request = notion_unfurl_sdk::testing::request(provider, url)
        .ok_or_else(|| SaveError::NoMatch(url.to_owned()))?;
    let tape = Arc::new(Tape::new(provider.upstream(), max_bytes));
    let result = provider
        .with_upstream(tape.clone())
        .unfurl(&request, ctx)
        .await;
    let answers = tape.answers().ok_or(SaveError::TooLarge(max_bytes))?;
    let mut responses = BTreeMap::new();
    for (name, answer) in answers {
        let body = String::from_utf8(answer.body).map_err(|_| SaveError::NotText(name.clone()))?;
        let headers = answer
            .headers
            .into_iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(KEPT_HEADER))
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        responses.insert(
            name,
            Recorded::Full {
                file: None,
                body: (!body.is_empty()).then_some(body),
                status: answer.status,
                headers,
            },
        );
    }
    let (expect, error) = match result {
        Ok(preview) => {
            let attributes = preview
                .attributes
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SaveError::Write(e.to_string()))?;
            (Some(Expect::Inline(attributes)), None)
        }
        Err(e) => (None, Some(kind(&e).to_owned())),
    };
    let snippet = Snippet {
        test: vec![SavedTest {
            url: url.to_owned(),
            error,
            responses,
            expect,
        }],
    };
    toml::to_string(&snippet).map_err(|e| SaveError::Write(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::{Answer, Playback};

    #[derive(serde::Deserialize)]
    struct Tests {
        test: Vec<crate::spec::TestSpec>,
    }

    #[test]
    fn a_saved_test_reads_back_as_the_file_format() {
        let mut responses = BTreeMap::new();
        responses.insert(
            "ticket".to_owned(),
            Recorded::Full {
                file: None,
                body: Some("{\"title\": \"Say \\\"hi\\\"\\n\"}".to_owned()),
                status: 200,
                headers: BTreeMap::new(),
            },
        );
        let attribute = serde_json::json!({"id": "title", "name": "Title", "type": "inline",
            "inline": {"title": {"value": "Say \"hi\"", "section": "title"}}});
        let snippet = Snippet {
            test: vec![SavedTest {
                url: "https://tickets.example.com/t/1".into(),
                error: None,
                responses,
                expect: Some(Expect::Inline(vec![attribute.clone()])),
            }],
        };
        let text = toml::to_string(&snippet).unwrap_or_else(|e| panic!("{e}"));
        let read: Tests = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let test = &read.test[0];
        assert_eq!(test.url.get_ref(), "https://tickets.example.com/t/1");
        assert_eq!(
            test.expect.as_ref().map(|e| e.get_ref().clone()),
            Some(Expect::Inline(vec![attribute]))
        );
        let playback = Playback::from_recorded(std::path::Path::new("."), &test.responses)
            .unwrap_or_else(|e| panic!("{e}"));
        let answer: Option<&Answer> = playback.recorded("ticket");
        assert_eq!(
            answer.map(|a| a.body.as_slice()),
            Some(&b"{\"title\": \"Say \\\"hi\\\"\\n\"}"[..])
        );
    }
}
