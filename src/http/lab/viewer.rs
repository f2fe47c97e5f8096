//! Whom the lab unfurls a link as (issue 9, item 1): the lab account, which has no
//! upstream token and so sees public previews only, or a stored account the operator names
//! in the `as` field, with the upstream credentials that account linked, exactly as its own
//! unfurls are made ([`crate::oauth::connections::Connections::requester`]). Only someone
//! who passed the lab's gate can name one; the page then says whose private view it shows.

use html_escape::encode_text as text;
use notion_unfurl_sdk::Account;

use crate::oauth::connections::Connections;
use crate::unfurl::Requester;

/// The account the lab unfurls as when none is named: no upstream token, so public
/// previews only. Its prefix is one no linking flow or `token issue` default mints
/// (`local:`, `github:`).
pub const LAB_ACCOUNT: &str = "lab:preview";

/// Longest account key the field accepts: keys are short (`github:123`, `local:…`).
const MAX_KEY_BYTES: usize = 200;

/// Who a lab unfurl is for.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub requester: Requester,
    /// Named by the operator (not the lab account).
    pub named: bool,
}

impl Viewer {
    pub fn lab() -> Self {
        Self {
            requester: Requester::new(Account::new(LAB_ACCOUNT, None)),
            named: false,
        }
    }

    /// The `as` field as given: empty for the lab account.
    pub fn field(&self) -> &str {
        if self.named {
            &self.requester.account.key
        } else {
            ""
        }
    }

    /// The sentence the result starts with (HTML).
    pub fn sentence(&self) -> String {
        let key = text(&self.requester.account.key);
        if self.named {
            let token = if self.requester.account.upstream_token.is_some() {
                "with the upstream token it linked"
            } else {
                "which has linked no upstream token"
            };
            format!(
                "<p class=\"notice\" id=\"viewer\">Previewed as account <code>{key}</code>, \
                 {token}: this is that account's private view, which Notion shows only to it. \
                 Do not share this page.</p>"
            )
        } else {
            format!(
                "<p class=\"muted\" id=\"viewer\">Previewed as the lab account \
                 <code>{key}</code>, with no upstream token: public previews only. Name an \
                 account under <i>as</i> to see what it sees.</p>"
            )
        }
    }
}

/// The viewer the `as` field names, or the sentence why it cannot be used.
pub async fn named(connections: &Connections, field: &str) -> Result<Viewer, String> {
    let key = field.trim();
    if key.is_empty() || key == LAB_ACCOUNT {
        return Ok(Viewer::lab());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(
            "That is not an account key: keys look like github:12345 or local:alice.".into(),
        );
    }
    match connections.requester(key).await {
        Ok(Some(requester)) => Ok(Viewer {
            requester,
            named: true,
        }),
        Ok(None) => Err(format!(
            "There is no account {key:?} on this server: name one that has connected \
             (github:12345, local:alice), or leave the field empty for the lab account."
        )),
        Err(e) => {
            tracing::warn!(error = %e, "lab could not read the named account");
            Err("The account could not be read just now; try again.".to_owned())
        }
    }
}
