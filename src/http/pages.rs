//! The few server-rendered HTML pages (consent and errors). No JavaScript, no third-party
//! assets, never framed, no referrer, never cached.
//!
//! Every error page is a [`PageError`]: its status and the sentence the user reads are
//! mapped once, in its `ResponseError` impl.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use html_escape::{encode_double_quoted_attribute, encode_text};

use crate::clients::github::LoginError;
use crate::clients::notion::NotionError;
use crate::http::limits::retry_after_secs;
use crate::oauth::linking::LinkError;
use crate::store::StoreError;

const STYLE: &str = "body{font:16px/1.5 system-ui,-apple-system,sans-serif;background:#f7f6f3;\
color:#37352f;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}\
main{background:#fff;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:32px;\
max-width:440px;margin:16px}h1{font-size:22px;margin:0 0 12px}p{margin:0 0 16px}\
.actions{display:flex;gap:12px;margin-top:24px}button{font:inherit;padding:8px 20px;\
border-radius:6px;border:1px solid #d3d1cb;background:#fff;cursor:pointer}\
ul{list-style:none;padding:0;margin:0}li{display:flex;gap:12px;align-items:center;margin:8px 0}\
button.primary{background:#2383e2;border-color:#2383e2;color:#fff}.muted{color:#787774;font-size:14px}";

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        encode_text(title)
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "no-store"))
        .body(html)
}

/// The consent page: Allow or Deny, a POST carrying the CSRF token.
pub fn consent(service: &str, account: &str, csrf: &str) -> HttpResponse {
    let body = format!(
        "<h1>Allow Notion to preview your links?</h1>\
         <p>Notion will show rich previews of links you paste, read with {account}. \
         Previews stay up to date until you disconnect.</p>\
         <p class=\"muted\">Served by {service}. Notion gets read access to previews only.</p>\
         <form method=\"post\" action=\"/oauth/authorize\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <div class=\"actions\">\
         <button class=\"primary\" type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>\
         </div></form>",
        account = encode_text(account),
        service = encode_text(service),
        csrf = encode_double_quoted_attribute(csrf),
    );
    page(StatusCode::OK, "Connect to Notion", &body)
}

/// One service on the services page.
#[derive(Debug, Clone, Copy)]
pub struct ServiceRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// The account linked it already.
    pub linked: bool,
}

/// The services page, between the consent page and Notion: the account links the services
/// provider files declare (each through its own sign-in), then continues to Notion. Every
/// button is a POST carrying the CSRF token.
pub fn services(
    account: &str,
    services: &[ServiceRow<'_>],
    csrf: &str,
    notice: Option<&str>,
) -> HttpResponse {
    let rows: String = services
        .iter()
        .map(|s| {
            let (state, label) = if s.linked {
                ("linked", format!("Link {} again", s.name))
            } else {
                ("not linked", format!("Link {}", s.name))
            };
            format!(
                "<li data-service=\"{id}\" data-state=\"{state}\"><strong>{name}</strong> \
                 <span class=\"muted\">{state}</span> \
                 <button type=\"submit\" name=\"decision\" value=\"link:{id}\" id=\"link-{id}\">{label}</button></li>",
                id = encode_double_quoted_attribute(s.id),
                name = encode_text(s.name),
                label = encode_text(&label),
            )
        })
        .collect();
    let notice = notice
        .map(|n| format!("<p id=\"notice\">{}</p>", encode_text(n)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Link your other accounts</h1>{notice}\
         <p>Signed in as {account}. Previews of these services' links read them with your own \
         account: link the ones you use now, or later by connecting again from Notion.</p>\
         <form method=\"post\" action=\"/oauth/services\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><ul id=\"services\">{rows}</ul>\
         <div class=\"actions\"><button class=\"primary\" type=\"submit\" name=\"decision\" \
         value=\"finish\" id=\"finish\">Continue to Notion</button></div></form>",
        account = encode_text(account),
        csrf = encode_double_quoted_attribute(csrf),
    );
    page(StatusCode::OK, "Link your accounts", &body)
}

/// An error the user can act on; nothing internal. Only [`PageError`] renders it.
fn error(status: StatusCode, message: &str) -> HttpResponse {
    let body = format!(
        "<h1>This connection could not be completed</h1><p>{}</p>\
         <p class=\"muted\">You can close this page and connect again from Notion.</p>",
        encode_text(message)
    );
    page(status, "Connection failed", &body)
}

/// Every way account linking in the browser (`/oauth/authorize`, the GitHub callback) ends
/// on an error page rather than a redirect to Notion.
///
/// `Display` is for operators and never reaches the page; [`PageError::sentence`] is what
/// the user reads. Every 5xx is logged once, by `error_response`, with the whole `source()`
/// chain of its cause (a store, Notion or GitHub failure) when it has one; a 4xx refusal is
/// logged where it is decided, at info, saying why.
#[derive(thiserror::Error)]
pub enum PageError {
    #[error("the authorize query repeats a parameter or holds one that is not UTF-8")]
    RepeatedParameter,
    #[error("unknown client_id or redirect_uri")]
    UnknownClient,
    #[error("the allowed redirect_uri cannot be parsed")]
    InvalidReturnAddress,
    #[error("the pending authorisation is missing, expired or already used")]
    Expired,
    #[error("the consent form repeats a field or holds one that is not UTF-8")]
    RepeatedField,
    #[error("the consent form could not be read")]
    FormUnreadable,
    #[error("the consent form holds no decision")]
    NoDecision,
    #[error("the GitHub callback repeats a parameter")]
    RepeatedCallbackParameter,
    #[error("GitHub sent no code")]
    NoGitHubCode,
    #[error("the consent form's CSRF token does not match")]
    CsrfMismatch,
    #[error("the GitHub callback's state does not match")]
    StateMismatch,
    #[error("GitHub sign-in is not configured")]
    GitHubNotConfigured,
    #[error("no provider file declares this service")]
    UnknownService,
    #[error("the consent form is too large")]
    FormTooLarge,
    #[error("the consent form was not sent in time")]
    FormTooSlow,
    #[error("the consent form was sent compressed")]
    Compressed,
    #[error("too many sign-in steps from this address")]
    RateLimited { retry_after: Duration },
    #[error("could not seal the pending authorisation")]
    NotSealed,
    #[error("could not start GitHub sign-in")]
    GitHubStart(#[source] LoginError),
    #[error("GitHub sign-in failed")]
    GitHubSignIn(#[source] LoginError),
    #[error("Notion refused the code exchange")]
    NotionRefused(#[source] NotionError),
    #[error("Notion code exchange failed")]
    NotionUnreachable(#[source] NotionError),
    #[error("UNFURL_OAUTH_CLIENT_ID is not set: account linking is off")]
    LinkingNotConfigured,
    #[error("could not record a single-use sign-in step")]
    SignInStep(#[source] StoreError),
    #[error("could not store the {what}")]
    NotSaved {
        what: &'static str,
        source: StoreError,
    },
}

/// tracing-actix-web logs the `Debug` of every error response: leaving the cause out keeps
/// it in the one line `error_response` writes.
impl fmt::Debug for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PageError({self})")
    }
}

/// A refusal names what Notion got wrong; anything else is for Notion to retry.
impl From<LinkError> for PageError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Notion(e) => e.into(),
            LinkError::NotSaved { what, source } => Self::NotSaved { what, source },
        }
    }
}

impl From<NotionError> for PageError {
    fn from(e: NotionError) -> Self {
        match e {
            NotionError::Refused { .. } => Self::NotionRefused(e),
            e => Self::NotionUnreachable(e),
        }
    }
}

const NOT_FROM_CONSENT_PAGE: &str = "This form was not sent from the consent page.";

impl PageError {
    /// What the user reads: what they can do, nothing internal.
    pub fn sentence(&self) -> &'static str {
        match self {
            Self::RepeatedParameter => {
                "The request repeats a parameter or holds one that cannot be read."
            }
            Self::UnknownClient => "This request did not come from a known Notion integration.",
            Self::InvalidReturnAddress => "The return address is not valid.",
            Self::Expired => "This sign-in has expired or was already used.",
            Self::RepeatedField => "The form repeats a field or holds one that cannot be read.",
            Self::FormUnreadable => "The form could not be read.",
            Self::NoDecision => "Choose Allow or Deny.",
            Self::RepeatedCallbackParameter => "The request repeats a parameter.",
            Self::NoGitHubCode => "GitHub did not send a sign-in code.",
            Self::CsrfMismatch | Self::Compressed => NOT_FROM_CONSENT_PAGE,
            Self::StateMismatch => "This sign-in did not start in this browser.",
            Self::GitHubNotConfigured => "GitHub sign-in is not configured.",
            Self::UnknownService => "This service cannot be linked on this server.",
            Self::FormTooLarge => "The form is too large.",
            Self::FormTooSlow => "The form took too long to arrive. Please try again.",
            Self::RateLimited { .. } => {
                "Too many connection attempts came from your network. Please wait a minute and try again."
            }
            Self::NotSealed => "Please try again.",
            Self::GitHubStart(_) => "GitHub sign-in is unavailable.",
            Self::GitHubSignIn(_) => "GitHub sign-in did not succeed.",
            Self::NotionRefused(_) => {
                "Notion did not accept this connection. Start again from Notion."
            }
            Self::NotionUnreachable(_) => {
                "Notion could not be reached. Please try again in a moment."
            }
            Self::LinkingNotConfigured => "Account linking is not configured on this server.",
            Self::SignInStep(_) => "The server could not continue this sign-in. Please try again.",
            Self::NotSaved { .. } => "The server could not save this connection. Please try again.",
        }
    }

    /// The one log line of a 5xx. Failures of GitHub, Notion or the configuration are
    /// warnings (nothing here to fix in code); ours are errors.
    fn log(&self) {
        if !self.status_code().is_server_error() {
            return;
        }
        let chain = Sources(self);
        match self {
            Self::GitHubSignIn(_)
            | Self::NotionRefused(_)
            | Self::NotionUnreachable(_)
            | Self::LinkingNotConfigured => {
                tracing::warn!(error = %self, chain = %chain, "answered with an error page");
            }
            _ => tracing::error!(error = %self, chain = %chain, "answered with an error page"),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::RepeatedParameter
            | Self::UnknownClient
            | Self::InvalidReturnAddress
            | Self::Expired
            | Self::RepeatedField
            | Self::FormUnreadable
            | Self::NoDecision
            | Self::RepeatedCallbackParameter
            | Self::NoGitHubCode => StatusCode::BAD_REQUEST,
            Self::CsrfMismatch | Self::StateMismatch => StatusCode::FORBIDDEN,
            Self::GitHubNotConfigured | Self::UnknownService => StatusCode::NOT_FOUND,
            Self::FormTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::FormTooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::Compressed => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotSealed | Self::GitHubStart(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::GitHubSignIn(_) | Self::NotionRefused(_) | Self::NotionUnreachable(_) => {
                StatusCode::BAD_GATEWAY
            }
            Self::LinkingNotConfigured | Self::SignInStep(_) | Self::NotSaved { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut response = error(self.status_code(), self.sentence());
        if let Self::RateLimited { retry_after } = self {
            response.headers_mut().insert(
                RETRY_AFTER,
                HeaderValue::from(retry_after_secs(*retry_after)),
            );
        }
        response
    }
}

/// The `source()` chain below an error, outermost first, joined by ": ".
struct Sources<'a>(&'a dyn Error);

impl fmt::Display for Sources<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        for cause in std::iter::successors(self.0.source(), |e| (*e).source()) {
            write!(f, "{separator}{cause}")?;
            separator = ": ";
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;

    const INTERNAL: &str = "internal-detail-4f2a";

    fn body_of(response: HttpResponse) -> String {
        let bytes = response
            .into_body()
            .try_into_bytes()
            .unwrap_or_else(|_| panic!("an error page has a whole body"));
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn header<'a>(response: &'a HttpResponse, name: &str) -> Option<&'a str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// Every variant, with the status and sentence the integration tests and users know.
    fn every_variant() -> Vec<(PageError, StatusCode, &'static str)> {
        let store = || StoreError::Corrupt(INTERNAL);
        let login = || LoginError::Transport(INTERNAL.into());
        vec![
            (
                PageError::RepeatedParameter,
                StatusCode::BAD_REQUEST,
                "The request repeats a parameter or holds one that cannot be read.",
            ),
            (
                PageError::UnknownClient,
                StatusCode::BAD_REQUEST,
                "This request did not come from a known Notion integration.",
            ),
            (
                PageError::InvalidReturnAddress,
                StatusCode::BAD_REQUEST,
                "The return address is not valid.",
            ),
            (
                PageError::Expired,
                StatusCode::BAD_REQUEST,
                "This sign-in has expired or was already used.",
            ),
            (
                PageError::RepeatedField,
                StatusCode::BAD_REQUEST,
                "The form repeats a field or holds one that cannot be read.",
            ),
            (
                PageError::FormUnreadable,
                StatusCode::BAD_REQUEST,
                "The form could not be read.",
            ),
            (
                PageError::NoDecision,
                StatusCode::BAD_REQUEST,
                "Choose Allow or Deny.",
            ),
            (
                PageError::RepeatedCallbackParameter,
                StatusCode::BAD_REQUEST,
                "The request repeats a parameter.",
            ),
            (
                PageError::NoGitHubCode,
                StatusCode::BAD_REQUEST,
                "GitHub did not send a sign-in code.",
            ),
            (
                PageError::CsrfMismatch,
                StatusCode::FORBIDDEN,
                "This form was not sent from the consent page.",
            ),
            (
                PageError::StateMismatch,
                StatusCode::FORBIDDEN,
                "This sign-in did not start in this browser.",
            ),
            (
                PageError::GitHubNotConfigured,
                StatusCode::NOT_FOUND,
                "GitHub sign-in is not configured.",
            ),
            (
                PageError::UnknownService,
                StatusCode::NOT_FOUND,
                "This service cannot be linked on this server.",
            ),
            (
                PageError::FormTooLarge,
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large.",
            ),
            (
                PageError::FormTooSlow,
                StatusCode::REQUEST_TIMEOUT,
                "The form took too long to arrive. Please try again.",
            ),
            (
                PageError::Compressed,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "This form was not sent from the consent page.",
            ),
            (
                PageError::RateLimited {
                    retry_after: Duration::from_secs(3),
                },
                StatusCode::TOO_MANY_REQUESTS,
                "Too many connection attempts came from your network. Please wait a minute and try again.",
            ),
            (
                PageError::NotSealed,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Please try again.",
            ),
            (
                PageError::GitHubStart(login()),
                StatusCode::INTERNAL_SERVER_ERROR,
                "GitHub sign-in is unavailable.",
            ),
            (
                PageError::GitHubSignIn(login()),
                StatusCode::BAD_GATEWAY,
                "GitHub sign-in did not succeed.",
            ),
            (
                PageError::from(NotionError::Refused {
                    status: 400,
                    code: Some(INTERNAL.into()),
                }),
                StatusCode::BAD_GATEWAY,
                "Notion did not accept this connection. Start again from Notion.",
            ),
            (
                PageError::from(NotionError::Malformed(INTERNAL.into())),
                StatusCode::BAD_GATEWAY,
                "Notion could not be reached. Please try again in a moment.",
            ),
            (
                PageError::LinkingNotConfigured,
                StatusCode::SERVICE_UNAVAILABLE,
                "Account linking is not configured on this server.",
            ),
            (
                PageError::SignInStep(store()),
                StatusCode::SERVICE_UNAVAILABLE,
                "The server could not continue this sign-in. Please try again.",
            ),
            (
                PageError::NotSaved {
                    what: "account",
                    source: store(),
                },
                StatusCode::SERVICE_UNAVAILABLE,
                "The server could not save this connection. Please try again.",
            ),
        ]
    }

    #[test]
    fn the_services_page_escapes_what_it_shows_and_posts_with_the_csrf_token() {
        let rows = [
            ServiceRow {
                id: "gitlab",
                name: "Git<b>Lab</b>",
                linked: true,
            },
            ServiceRow {
                id: "jira",
                name: "Jira",
                linked: false,
            },
        ];
        let response = services("<script>x</script>", &rows, "csrf\"tok", Some("A & B"));
        assert_eq!(header(&response, "x-frame-options"), Some("DENY"));
        let body = body_of(response);
        assert!(
            !body.contains("<script>") && !body.contains("<b>"),
            "{body}"
        );
        assert!(
            body.contains("Link Git&lt;b&gt;Lab&lt;/b&gt; again"),
            "{body}"
        );
        assert!(body.contains("value=\"link:jira\""), "{body}");
        assert!(
            body.contains("data-service=\"jira\" data-state=\"not linked\""),
            "{body}"
        );
        assert!(body.contains("value=\"csrf&quot;tok\""), "{body}");
        assert!(body.contains("<p id=\"notice\">A &amp; B</p>"), "{body}");
        assert!(body.contains("action=\"/oauth/services\""), "{body}");
    }

    #[test]
    fn each_variant_has_its_status_and_sentence() {
        for (error, status, sentence) in every_variant() {
            assert_eq!(error.status_code(), status, "{error:?}");
            assert_eq!(error.sentence(), sentence, "{error:?}");
            let response = error.error_response();
            assert_eq!(response.status(), status, "{error:?}");
            assert!(body_of(response).contains(sentence), "{error:?}");
        }
    }

    #[test]
    fn a_server_error_page_says_nothing_internal() {
        for (error, status, _) in every_variant() {
            if !status.is_server_error() {
                continue;
            }
            let operator_text = error.to_string();
            let cause = Sources(&error).to_string();
            let body = body_of(error.error_response());
            assert!(!body.contains(INTERNAL), "{error:?}: {body}");
            assert!(!body.contains(&operator_text), "{error:?}: {body}");
            if error.source().is_some() {
                assert!(cause.contains(INTERNAL), "the log keeps the cause: {cause}");
            }
        }
    }

    #[test]
    fn an_error_page_keeps_the_security_headers_and_only_a_rate_limit_says_when() {
        for (error, _, _) in every_variant() {
            let response = error.error_response();
            assert_eq!(header(&response, "x-frame-options"), Some("DENY"));
            assert_eq!(header(&response, "referrer-policy"), Some("no-referrer"));
            assert_eq!(header(&response, "cache-control"), Some("no-store"));
            assert!(
                header(&response, "content-security-policy")
                    .is_some_and(|csp| csp.contains("frame-ancestors 'none'"))
            );
            let rate_limited = matches!(error, PageError::RateLimited { .. });
            let retry_after = response.headers().contains_key(RETRY_AFTER);
            assert_eq!(retry_after, rate_limited, "{error:?}");
        }
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let error = PageError::RateLimited {
            retry_after: Duration::from_millis(1500),
        };
        assert_eq!(header(&error.error_response(), "retry-after"), Some("2"));
    }

    #[test]
    fn the_log_chain_holds_every_source() {
        let error = PageError::NotSaved {
            what: "connection",
            source: StoreError::Database(sqlx::Error::Protocol(INTERNAL.into())),
        };
        assert_eq!(error.to_string(), "could not store the connection");
        let chain = Sources(&error).to_string();
        assert!(chain.starts_with("database error: "), "{chain}");
        // The store's message, then sqlx's own error beneath it.
        assert_eq!(chain.matches(INTERNAL).count(), 2, "{chain}");
        assert_eq!(Sources(&PageError::Expired).to_string(), "");
    }
}
