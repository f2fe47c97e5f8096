//! `GET /lab?test=ID:N`: a provider file's recorded test N (from 1), played against its
//! recorded answers (nothing is fetched) and shown as the server would send it, with the
//! upstream requests it made. How a provider author sees a file's preview before any
//! upstream or Notion exists.

use notion_unfurl_sdk::{Attribute, Provider};
use serde_json::Value;

use crate::state::AppState;
use crate::unfurl::body::{attributes_body, error_body, error_operation};

/// Every recorded test of every provider file: `(value, label)` for the lab's list.
pub fn choices(state: &AppState) -> Vec<(String, String)> {
    state
        .unfurler
        .registry()
        .files()
        .iter()
        .flat_map(|file| {
            let id = file.compiled().id;
            file.compiled().tests.iter().enumerate().map(move |(i, t)| {
                (
                    format!("{id}:{}", i + 1),
                    format!("{id} #{}: {}", i + 1, t.url),
                )
            })
        })
        .collect()
}

/// What a played test came to: the callback body, the trace of upstream requests (HTML),
/// and whether the preview would be shared across accounts.
pub struct Played {
    pub body: Value,
    pub trace: String,
    pub public: Option<bool>,
}

/// Plays `choice` (`ID:N`), or says why it cannot be played.
pub async fn play(state: &AppState, choice: &str) -> Result<Played, String> {
    let unknown = || format!("There is no recorded test {choice:?}: pick one from the list.");
    let (id, n) = choice.split_once(':').ok_or_else(unknown)?;
    let n: usize = n.parse().map_err(|_| unknown())?;
    let file = state.unfurler.registry().file(id).ok_or_else(unknown)?;
    let test = n
        .checked_sub(1)
        .and_then(|i| file.compiled().tests.get(i))
        .ok_or_else(unknown)?;
    let (result, calls) = notion_unfurl_declarative::check::play(file, test)
        .await
        .map_err(|e| format!("The test cannot be played: {e}."))?;
    let (bytes, public) = match result {
        Ok(preview) => {
            let mut attributes = preview.attributes;
            let dev = file.developer().unwrap_or(&state.settings.developer_name);
            attributes.extend(Attribute::developer(dev).ok());
            let public = preview.scope == notion_unfurl_sdk::CacheScope::Public;
            (attributes_body(&test.url, &attributes), Some(public))
        }
        Err(error) => {
            let (status, message) = error_operation(&error);
            (error_body(&test.url, status, &message), None)
        }
    };
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let rows: String = calls
        .iter()
        .map(|c| {
            format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{} B</td></tr>",
                html_escape::encode_text(&c.name),
                html_escape::encode_text(&c.target),
                c.status,
                c.bytes
            )
        })
        .collect();
    let trace = format!(
        "<p>Provider file <code>{file}</code>, test {n}: played against its recorded answers; \
         nothing was fetched or cached. Upstream requests (query and headers left out: they \
         may hold credentials):</p><table id=\"upstream\"><tr><th>request</th><th>target</th>\
         <th>status</th><th>body</th></tr>{rows}</table>",
        file = html_escape::encode_text(&file.compiled().file.display().to_string()),
    );
    Ok(Played {
        body,
        trace,
        public,
    })
}
