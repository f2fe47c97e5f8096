//! [`ProviderError`]: why a provider could not preview a URL, and how the SDK's own
//! failures become one.
//!
//! It sits apart from the [`Provider`](crate::Provider) trait so that the clients
//! ([`fetch`](crate::fetch)) and the contract ([`provider`](crate::provider)) both depend on
//! it without depending on each other.

use std::time::Duration;

use crate::attributes::AttributeError;
use crate::fetch::FetchError;

/// Why a provider could not preview a URL. The server turns each into an `error`
/// operation with a status and a sentence for the Notion user; `hint` replaces that
/// sentence when the provider knows better (it must never contain private content).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("not found")]
    NotFound { hint: Option<String> },
    #[error("the account may not see this")]
    Forbidden { hint: Option<String> },
    #[error("the upstream credentials were refused")]
    Unauthorized { hint: Option<String> },
    #[error("rate limited upstream")]
    RateLimited {
        retry_after: Option<Duration>,
        hint: Option<String>,
    },
    #[error("upstream failed (status {status:?})")]
    Upstream { status: Option<u16> },
    /// No usable answer came back: the connection failed, broke off, or the body could not
    /// be read (cut short, undecodable, over the size cap). `reason` says which, for the log.
    #[error("upstream unreachable: {reason}")]
    Unreachable { reason: String },
    #[error("upstream timed out")]
    Timeout,
    #[error("blocked by the fetch policy: {reason}")]
    Blocked { reason: String },
    #[error("unusable upstream content: {reason}")]
    Invalid { reason: String },
}

impl ProviderError {
    /// The short name of this kind of error, as a recorded test names the error it expects:
    /// `not_found`, `forbidden`, `unauthorized`, `rate_limited`, `upstream`, `timeout`,
    /// `blocked`, `invalid`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Forbidden { .. } => "forbidden",
            Self::Unauthorized { .. } => "unauthorized",
            Self::RateLimited { .. } => "rate_limited",
            Self::Upstream { .. } | Self::Unreachable { .. } => "upstream",
            Self::Timeout => "timeout",
            Self::Blocked { .. } => "blocked",
            Self::Invalid { .. } => "invalid",
        }
    }
}

impl From<FetchError> for ProviderError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::InvalidUrl(reason) | FetchError::Blocked(reason) => {
                ProviderError::Blocked { reason }
            }
            FetchError::TooManyRedirects => ProviderError::Blocked {
                reason: "too many redirects".into(),
            },
            FetchError::Timeout => ProviderError::Timeout,
            e @ (FetchError::Connect(_)
            | FetchError::TooLarge
            | FetchError::Transfer(_)
            | FetchError::Build(_)) => ProviderError::Unreachable {
                reason: e.to_string(),
            },
        }
    }
}

/// A value Notion would refuse (empty text, a media URL that is not https) means the
/// upstream answer cannot make this attribute.
impl From<AttributeError> for ProviderError {
    fn from(e: AttributeError) -> Self {
        ProviderError::Invalid {
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_errors_map_to_provider_errors() {
        assert!(matches!(
            ProviderError::from(FetchError::Blocked("x".into())),
            ProviderError::Blocked { .. }
        ));
        assert!(matches!(
            ProviderError::from(FetchError::TooManyRedirects),
            ProviderError::Blocked { .. }
        ));
        assert!(matches!(
            ProviderError::from(FetchError::Timeout),
            ProviderError::Timeout
        ));
        assert_eq!(
            ProviderError::from(FetchError::TooLarge),
            ProviderError::Unreachable {
                reason: "body larger than the cap".into()
            }
        );
        // The cause survives into the log line.
        assert_eq!(
            ProviderError::from(FetchError::Transfer("connection reset by peer".into()))
                .to_string(),
            "upstream unreachable: transfer failed: connection reset by peer"
        );
    }

    #[test]
    fn an_attribute_notion_would_refuse_is_unusable_content() {
        assert_eq!(
            ProviderError::from(AttributeError::Empty),
            ProviderError::Invalid {
                reason: "attribute value is empty".into()
            }
        );
    }
}
