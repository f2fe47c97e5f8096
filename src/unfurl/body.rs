//! The bytes Notion receives for one link (protocol.md §2–3): the attributes operation, or
//! the `error` operation with the status and the sentence a Notion user reads. Built here
//! and nowhere else, so the callback, the CLI and pushed updates cannot drift apart.

use bytes::Bytes;
use notion_unfurl_sdk::{Attribute, ProviderError};
use serde::Serialize;
use url::Url;

/// Longest URI we accept (protocol decision: Notion never sends longer links).
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Why a `uri` cannot be unfurled at all (HTTP 400, never reaches a provider).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("the uri is longer than {MAX_URI_BYTES} bytes")]
    TooLong,
    #[error("the uri is not an absolute URL")]
    NotAbsolute,
    #[error("only http and https links can be previewed")]
    Scheme,
}

/// Parse and check a pasted link.
pub fn validate_uri(raw: &str) -> Result<Url, UriError> {
    if raw.len() > MAX_URI_BYTES {
        return Err(UriError::TooLong);
    }
    let url = Url::parse(raw).map_err(|_| UriError::NotAbsolute)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(UriError::Scheme);
    }
    Ok(url)
}

#[derive(Serialize)]
struct ErrorSet<'a> {
    status: u16,
    message: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Operation<'a> {
    Attributes {
        path: [&'static str; 1],
        set: &'a [Attribute],
    },
    Error {
        path: [&'static str; 1],
        set: ErrorSet<'a>,
    },
}

#[derive(Serialize)]
struct Body<'a> {
    uri: &'a str,
    operations: Vec<Operation<'a>>,
}

/// `{"uri", "operations": [{"path": ["attributes"], "set": [...]}]}`.
pub fn attributes_body(uri: &str, attributes: &[Attribute]) -> Bytes {
    render(&Body {
        uri,
        operations: vec![Operation::Attributes {
            path: ["attributes"],
            set: attributes,
        }],
    })
}

/// `{"uri", "operations": [{"path": ["error"], "set": {"status", "message"}}]}`.
pub fn error_body(uri: &str, status: u16, message: &str) -> Bytes {
    render(&Body {
        uri,
        operations: vec![Operation::Error {
            path: ["error"],
            set: ErrorSet { status, message },
        }],
    })
}

fn render(body: &Body<'_>) -> Bytes {
    // Serialising these plain structs cannot fail; an empty body would still be valid HTTP.
    Bytes::from(serde_json::to_vec(body).unwrap_or_default())
}

/// The status and the sentence a Notion user sees for a provider failure.
pub fn error_operation(error: &ProviderError) -> (u16, String) {
    let (status, default) = match error {
        ProviderError::NotFound { .. } => (404, "This page could not be found."),
        ProviderError::Forbidden { .. } => (403, "Your account does not have access to this."),
        ProviderError::Unauthorized { .. } => (
            401,
            "Your connected account needs to be reconnected to preview this link.",
        ),
        ProviderError::RateLimited { .. } => (
            429,
            "Too many previews were requested. Please try again in a few minutes.",
        ),
        ProviderError::Upstream { .. } | ProviderError::Unreachable { .. } => {
            (502, "The site could not be reached right now.")
        }
        ProviderError::Timeout => (504, "The site took too long to respond."),
        ProviderError::Blocked { .. } => (403, "This link cannot be previewed."),
        ProviderError::Invalid { .. } => (502, "The page could not be read."),
    };
    let hint = match error {
        ProviderError::NotFound { hint }
        | ProviderError::Forbidden { hint }
        | ProviderError::Unauthorized { hint }
        | ProviderError::RateLimited { hint, .. } => hint.clone(),
        _ => None,
    };
    (status, hint.unwrap_or_else(|| default.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_validated() {
        assert!(validate_uri("https://example.com/a?b#c").is_ok());
        assert_eq!(validate_uri("/relative"), Err(UriError::NotAbsolute));
        assert_eq!(validate_uri("example.com"), Err(UriError::NotAbsolute));
        assert_eq!(validate_uri("ftp://example.com/x"), Err(UriError::Scheme));
        assert_eq!(validate_uri("javascript:alert(1)"), Err(UriError::Scheme));
        assert_eq!(validate_uri("file:///etc/passwd"), Err(UriError::Scheme));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URI_BYTES));
        assert_eq!(validate_uri(&long), Err(UriError::TooLong));
    }
}
