//! `providers check` and `providers test`: a directory loaded as the server would load it,
//! then every file's recorded tests played back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use notion_unfurl_sdk::{Account, Context, GuardedClient, Provider, ProviderError, Secret};

use crate::load::{Environment, Mode, Problem};
use crate::provider::Declarative;
use crate::upstream::Playback;

/// Loads every file of `dir` into working providers, with every problem found: the file
/// checks, then the SDK's own pattern checks (the ones every Rust provider passes too).
pub fn load(
    dir: &Path,
    env: &dyn Environment,
    mode: Mode,
    user_agent: &str,
) -> Result<Vec<Declarative>, Vec<Problem>> {
    let compiled = crate::load::load_dir(dir, env, mode)?;
    let mut problems = Vec::new();
    let mut providers = Vec::new();
    for c in compiled {
        let (file, line) = (c.file.clone(), c.match_line);
        match Declarative::live(c, user_agent) {
            Ok(p) => {
                for message in notion_unfurl_sdk::testing::pattern_problems(&p) {
                    problems.push(Problem {
                        file: file.clone(),
                        line,
                        message,
                    });
                }
                providers.push(p);
            }
            Err(message) => problems.push(Problem {
                file,
                line,
                message,
            }),
        }
    }
    if problems.is_empty() {
        Ok(providers)
    } else {
        Err(problems)
    }
}

/// The outcome of one recorded test.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub file: PathBuf,
    pub line: usize,
    pub url: String,
    /// The attributes made (JSON), or the error's kind and sentence.
    pub result: Result<serde_json::Value, String>,
    /// Why the test failed; `None` when it passed.
    pub failure: Option<String>,
    /// Requests the provider sent.
    pub requests: usize,
}

/// The short name of an error kind, as `error = "…"` in a test names it.
pub fn kind(error: &ProviderError) -> &'static str {
    error.kind()
}

/// Runs every recorded test of every provider. With `write`, a test whose `expect` file
/// is missing or different gets it written from what the provider made (review the diff).
pub async fn run_tests(providers: &[Declarative], write: bool) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for provider in providers {
        let c = provider.compiled();
        let dir = c.file.parent().map_or_else(PathBuf::new, Path::to_path_buf);
        for test in &c.tests {
            outcomes.push(run_one(provider, &dir, test, write).await);
        }
    }
    outcomes
}

/// One upstream request a played test made: what the lab's trace shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// The request's name in the file.
    pub name: String,
    /// Host and path, the query left out (it may hold a secret).
    pub target: String,
    pub status: u16,
    pub bytes: usize,
}

/// Plays recorded test `test` of `provider`: the preview or error it makes, and the
/// upstream requests it sent (headers left out: they hold credentials).
pub async fn play(
    provider: &Declarative,
    test: &crate::model::Test,
) -> Result<
    (
        Result<notion_unfurl_sdk::Preview, ProviderError>,
        Vec<Traced>,
    ),
    String,
> {
    let dir = provider
        .compiled()
        .file
        .parent()
        .map_or_else(PathBuf::new, Path::to_path_buf);
    let playback = Arc::new(Playback::from_recorded(&dir, &test.responses)?);
    let played = provider.with_upstream(playback.clone());
    let request = notion_unfurl_sdk::testing::request(&played, &test.url)
        .ok_or_else(|| format!("{} matches none of the file's patterns", test.url))?;
    let guarded = GuardedClient::new(Default::default()).map_err(|e| e.to_string())?;
    let ctx = Context {
        guarded,
        account: Some(test_account(provider)),
    };
    let result = played.unfurl(&request, &ctx).await;
    let trace = playback
        .seen()
        .iter()
        .map(|call| {
            let answer = playback.recorded(&call.name);
            Traced {
                name: call.name.clone(),
                target: format!(
                    "{}{}",
                    call.url.host_str().unwrap_or_default(),
                    call.url.path()
                ),
                status: answer.map_or(0, |a| a.status),
                bytes: answer.map_or(0, |a| a.body.len()),
            }
        })
        .collect();
    Ok((result, trace))
}

async fn run_one(
    provider: &Declarative,
    dir: &Path,
    test: &crate::model::Test,
    write: bool,
) -> Outcome {
    let mut outcome = Outcome {
        file: provider.compiled().file.clone(),
        line: test.line,
        url: test.url.clone(),
        result: Err(String::new()),
        failure: None,
        requests: 0,
    };
    let playback = match Playback::from_recorded(dir, &test.responses) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            outcome.failure = Some(e);
            return outcome;
        }
    };
    let provider = provider.with_upstream(playback.clone());
    let Some(request) = notion_unfurl_sdk::testing::request(&provider, &test.url) else {
        outcome.failure = Some(format!("{} matches none of the file's patterns", test.url));
        return outcome;
    };
    let guarded = match GuardedClient::new(Default::default()) {
        Ok(g) => g,
        Err(e) => {
            outcome.failure = Some(e.to_string());
            return outcome;
        }
    };
    let ctx = Context {
        guarded,
        account: Some(test_account(&provider)),
    };
    let result = provider.unfurl(&request, &ctx).await;
    outcome.requests = playback.sent();
    match result {
        Err(e) => {
            outcome.result = Err(format!("{}: {e}", kind(&e)));
            outcome.failure = match &test.error {
                Some(expected) if expected == kind(&e) => None,
                Some(expected) => Some(format!("expected error {expected}, got {}: {e}", kind(&e))),
                None => Some(format!("expected a preview, got {}: {e}", kind(&e))),
            };
        }
        Ok(preview) => {
            let json = serde_json::to_value(&preview.attributes).unwrap_or_default();
            outcome.result = Ok(json.clone());
            let problems = notion_unfurl_sdk::testing::preview_problems(&preview);
            outcome.failure = if let Some(expected) = &test.error {
                Some(format!("expected error {expected}, got a preview"))
            } else if !problems.is_empty() {
                Some(problems.join("; "))
            } else if let Some(expect) = &test.expect {
                match expect {
                    crate::spec::Expect::File(file) => compare(&dir.join(file), &json, write),
                    crate::spec::Expect::Inline(expected) => {
                        let expected = serde_json::Value::Array(expected.clone());
                        (expected != json).then(|| {
                            format!(
                                "attributes differ from the test's own `expect`:\n  \
                                 expected {expected}\n  got      {json}"
                            )
                        })
                    }
                }
            } else {
                None
            };
        }
    }
    outcome
}

/// The account a recorded test unfurls for: linked to the one service the file declares
/// (recorded answers need no real token).
fn test_account(provider: &Declarative) -> Account {
    let mut account = Account::new("test", Some(Secret::new("recorded-token")));
    if let crate::model::Credentials::Account { service, .. } = &provider.compiled().credentials {
        account
            .services
            .insert(service.clone(), Secret::new("recorded-token"));
    }
    account
}

/// Compares `got` with the expected file (writing it when asked).
fn compare(file: &Path, got: &serde_json::Value, write: bool) -> Option<String> {
    let expected: Option<serde_json::Value> = std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if expected.as_ref() == Some(got) {
        return None;
    }
    if write {
        let text = serde_json::to_string_pretty(got).unwrap_or_default() + "\n";
        return std::fs::write(file, text)
            .err()
            .map(|e| format!("could not write {}: {e}", file.display()));
    }
    Some(match expected {
        None => format!(
            "{} is missing or not JSON: run `notion-unfurl providers test --write` to record it",
            file.display()
        ),
        Some(expected) => format!(
            "attributes differ from {}:\n  expected {expected}\n  got      {got}",
            file.display()
        ),
    })
}

/// Environment variables as a map, for tests that must not read the process's own.
pub fn env_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
