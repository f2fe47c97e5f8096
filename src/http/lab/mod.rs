//! `GET /lab`, `POST /lab`, `POST /lab/login`: the preview lab, where provider authors and
//! operators see a preview as Notion would draw it and why (issue 9).
//!
//! - `GET /lab?url=…[&refresh=1][&as=KEY]` unfurls the link as the lab account
//!   [`viewer::LAB_ACCOUNT`], which has no upstream token, so only public previews show and
//!   no account's private preview is read or served from the cache; or, with `as`, as the
//!   stored account the operator names, with its upstream credentials ([`viewer`]), and
//!   the page says it is that account's private view. `refresh` reads past the cache. The page shows
//!   the route (every provider's patterns, which matched, the captures), the cache key and
//!   whether the answer came from the cache, the pattern's placeholder, the preview and the
//!   mention in light and dark, the checks ([`checks`]), the raw answer, and each upstream
//!   request the provider made ([`upstream`]; none on a cache hit).
//! - `GET /lab?test=ID:N` plays a provider file's recorded test N against its recorded
//!   answers ([`recorded`]): the preview as sent, and the upstream requests it made.
//! - `GET /lab/save?url=…[&as=KEY]` saves the link as a test and downloads it ([`save`]):
//!   a `[[test]]` block for a provider file, JSON for a Rust provider.
//! - `POST /lab` renders pasted JSON (a callback body or an attribute array), which is
//!   thereby never in a URL or a log; its permalink keeps it in the fragment.
//!
//! Who may open it (security.md, "Operator pages"), decided by [`gate`]:
//! - with `UNFURL_LAB_TOKEN` set, a browser that gave the token once to `POST /lab/login`
//!   (it then holds an HttpOnly, SameSite=Strict cookie with the token's HMAC, never the
//!   token), or a request with `Authorization: Bearer <token>`; compared in constant time,
//!   never read from a URL, never logged. Anyone else gets the token form (401);
//! - without it, requests to a loopback listener that no proxy forwarded;
//! - otherwise nobody: 404.
//!
//! Every page is sent with a strict CSP (a nonce for its few lines of script, no third-party
//! anything), `nosniff`, `no-store`, never framed, no referrer.

pub mod checks;
pub mod images;
pub mod preview;
#[cfg(feature = "declarative")]
pub mod recorded;
pub mod render;
pub mod save;
pub mod upstream;
pub mod viewer;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError, web};
use base64::Engine;
use hmac::{Hmac, Mac};
use notion_unfurl_sdk::GuardedClient;
use serde_json::Value;
use sha2::Sha256;

use crate::http::lab::checks::Sharing;
use crate::http::lab::preview::{Payload, substitute_json};
use crate::http::lab::render::{Page, Trace};
use crate::http::lab::viewer::Viewer;
use crate::http::request::{BodyError, BodyLimit, bearer_token, forwarded, read_limited};
use crate::platform::config::Settings;
use crate::platform::crypto::same_secret;
use crate::state::AppState;
use crate::unfurl::CacheUse;
use crate::unfurl::cache::Scope;
use crate::unfurl::entry::Outcome;

/// Largest form accepted: pasted JSON of a large preview with room to spare.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// What the lab cookie's HMAC is taken over, keyed with the lab token.
const COOKIE_LABEL: &[u8] = b"notion-unfurl preview lab session v1";

/// How long a browser stays let in after giving the token.
const COOKIE_HOURS: i64 = 12;

/// Every way a lab request is not answered with a lab page.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(
        "the preview lab is off: set UNFURL_LAB_TOKEN to use it other than from the server's own machine"
    )]
    Off,
    #[error("the lab token is missing")]
    TokenMissing,
    #[error("the lab token is wrong")]
    TokenWrong,
    #[error("the form is larger than {MAX_FORM_BYTES} bytes")]
    TooLarge,
    #[error("the form was not sent in time")]
    TooSlow,
    #[error("the form could not be read")]
    Unreadable,
    #[error("only GET and POST are allowed here")]
    MethodNotAllowed,
}

impl ResponseError for LabError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Off => StatusCode::NOT_FOUND,
            Self::TokenMissing | Self::TokenWrong => StatusCode::UNAUTHORIZED,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::Unreadable => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        secure_headers(&mut response, &nonce());
        match self {
            Self::TokenMissing => html(response, render::login(None)),
            Self::TokenWrong => html(response, render::login(Some("That is not the lab token."))),
            Self::MethodNotAllowed => {
                response.insert_header((header::ALLOW, HeaderValue::from_static("GET, POST")));
                response
                    .content_type("text/plain; charset=utf-8")
                    .body(self.to_string())
            }
            _ => response
                .content_type("text/plain; charset=utf-8")
                .body(self.to_string()),
        }
    }
}

fn html(mut response: HttpResponseBuilder, body: String) -> HttpResponse {
    response.content_type("text/html; charset=utf-8").body(body)
}

/// A fresh script nonce: 128 random bits.
fn nonce() -> String {
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>())
}

fn secure_headers(response: &mut HttpResponseBuilder, nonce: &str) {
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
         script-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    response
        .insert_header(("Content-Security-Policy", csp))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "no-referrer"));
}

/// The cookie value that stands for `token`: its HMAC, so the cookie never holds the token.
fn session_value(token: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(token.as_bytes()) {
        Ok(mut mac) => {
            mac.update(COOKIE_LABEL);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => String::new(),
    }
}

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-unfurl_lab"
    } else {
        "unfurl_lab"
    }
}

/// Whether `req` may use the lab under `settings` (see the module's list).
pub fn gate(req: &HttpRequest, settings: &Settings, secure: bool) -> Result<(), LabError> {
    if let Some(expected) = &settings.lab_token {
        let expected = expected.expose();
        if let Some(presented) = bearer_token(req) {
            if bool::from(same_secret(presented, expected)) {
                return Ok(());
            }
            tracing::info!(reason = "wrong", "lab token refused");
            return Err(LabError::TokenWrong);
        }
        if let Some(cookie) = req.cookie(cookie_name(secure))
            && bool::from(same_secret(cookie.value(), &session_value(expected)))
        {
            return Ok(());
        }
        return Err(LabError::TokenMissing);
    }
    if !settings.listen.ip().is_loopback() {
        tracing::info!("lab request refused: no UNFURL_LAB_TOKEN and not on loopback");
        return Err(LabError::Off);
    }
    if forwarded(req, settings) {
        tracing::info!("lab request refused: no UNFURL_LAB_TOKEN and forwarded by a proxy");
        return Err(LabError::Off);
    }
    Ok(())
}

/// A page: status, the security headers with this page's nonce, the HTML.
fn respond(status: StatusCode, page: impl FnOnce(&str) -> String) -> HttpResponse {
    let nonce = nonce();
    let mut response = HttpResponse::build(status);
    secure_headers(&mut response, &nonce);
    html(response, page(&nonce))
}

/// `GET /lab`: the forms, and with `?url=` that link's preview.
#[tracing::instrument(name = "lab_show", skip_all)]
pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, LabError> {
    gate(&req, &state.settings, state.consent.secure())?;
    let Query {
        url,
        refresh,
        test,
        as_field,
    } = Query::of(&req);
    let tests = recorded_choices(&state);
    if let Some(choice) = test.filter(|t| !t.is_empty()) {
        let outcome = from_test(&state, &choice).await;
        return Ok(answer(outcome, &Form::test(&choice), &tests));
    }
    let Some(url) = url.filter(|u| !u.is_empty()) else {
        return Ok(respond(StatusCode::OK, |nonce| {
            render::page(&Page {
                nonce,
                url: "",
                refresh: false,
                as_field: &as_field,
                notice: None,
                result: None,
                tests: &tests,
                test: "",
            })
        }));
    };
    let form = Form {
        url: &url,
        refresh,
        as_field: &as_field,
        test: "",
    };
    let outcome = match viewer::named(&state.connections, &as_field).await {
        Ok(viewer) => from_url(&state, &url, refresh, &viewer).await,
        Err(notice) => Err(notice),
    };
    Ok(answer(outcome, &form, &tests))
}

/// The query of `GET /lab` and `GET /lab/save` (the first of each name counts).
#[derive(Debug, Default)]
struct Query {
    url: Option<String>,
    refresh: bool,
    test: Option<String>,
    as_field: String,
}

impl Query {
    fn of(req: &HttpRequest) -> Self {
        let mut query = Self::default();
        for (name, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
            match &*name {
                "url" if query.url.is_none() => query.url = Some(value.trim().to_owned()),
                "as" if query.as_field.is_empty() => value.trim().clone_into(&mut query.as_field),
                "refresh" => query.refresh = matches!(&*value, "1" | "on" | "true"),
                "test" if query.test.is_none() => query.test = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        query
    }
}

/// `GET /lab/save?url=…[&as=KEY]`: the link saved as a test ([`save`]), as a download;
/// a link that cannot be saved gets the lab page with the sentence why (`400`).
#[tracing::instrument(name = "lab_save", skip_all)]
pub async fn save_test(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LabError> {
    gate(&req, &state.settings, state.consent.secure())?;
    let query = Query::of(&req);
    let url = query.url.unwrap_or_default();
    let form = Form {
        url: &url,
        refresh: false,
        as_field: &query.as_field,
        test: "",
    };
    let saved = match viewer::named(&state.connections, &query.as_field).await {
        Ok(_) if url.is_empty() => Err("Give the link to save as a test.".to_owned()),
        Ok(viewer) => save::save(&state, &url, &viewer).await,
        Err(notice) => Err(notice),
    };
    let download = match saved {
        Ok(download) => download,
        Err(notice) => return Ok(answer(Err(notice), &form, &recorded_choices(&state))),
    };
    let mut response = HttpResponse::Ok();
    secure_headers(&mut response, &nonce());
    response.insert_header(header::ContentDisposition {
        disposition: header::DispositionType::Attachment,
        parameters: vec![header::DispositionParam::Filename(download.file_name)],
    });
    Ok(response
        .content_type(download.content_type)
        .body(download.text))
}

/// What the lab's forms are filled in with.
struct Form<'a> {
    url: &'a str,
    refresh: bool,
    as_field: &'a str,
    test: &'a str,
}

impl<'a> Form<'a> {
    const EMPTY: Form<'static> = Form {
        url: "",
        refresh: false,
        as_field: "",
        test: "",
    };

    fn test(test: &'a str) -> Self {
        Self {
            test,
            ..Form::EMPTY
        }
    }
}

/// The provider files' recorded tests the lab can play (none without the feature).
fn recorded_choices(state: &AppState) -> Vec<(String, String)> {
    #[cfg(feature = "declarative")]
    return recorded::choices(state);
    #[cfg(not(feature = "declarative"))]
    {
        let _ = state;
        Vec::new()
    }
}

/// A provider file's recorded test, played and rendered ([`recorded`]).
async fn from_test(state: &AppState, choice: &str) -> Result<String, String> {
    #[cfg(feature = "declarative")]
    {
        let played = recorded::play(state, choice).await?;
        let payload = Payload::from_json(&played.body).unwrap_or_default();
        let sharing = match played.public {
            Some(true) => Sharing::Public,
            Some(false) => Sharing::Account,
            None => Sharing::Unknown,
        };
        let mut permalink =
            url::form_urlencoded::Serializer::for_suffix(String::from("/lab?"), "/lab?".len());
        permalink.append_pair("test", choice);
        // Played tests fetch nothing, images included.
        Ok(result(
            &payload,
            &played.body,
            sharing,
            None,
            Some(&played.trace),
            &Keep::permalink(permalink.finish()),
            Vec::new(),
        ))
    }
    #[cfg(not(feature = "declarative"))]
    {
        let _ = state;
        Err(format!(
            "There is no recorded test {choice:?} in this build."
        ))
    }
}

/// `POST /lab`: pasted JSON, rendered.
#[tracing::instrument(name = "lab_render", skip_all)]
pub async fn render_json(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LabError> {
    gate(&req, &state.settings, state.consent.secure())?;
    let form = read_form(&req, payload, &state.settings).await?;
    let pasted = field(&form, "json").unwrap_or_default();
    let outcome = from_json(state.unfurler.guarded(), &pasted).await;
    Ok(answer(outcome, &Form::EMPTY, &recorded_choices(&state)))
}

/// The lab page for `outcome` (the result sections, or the sentence why there are none:
/// then `400`), its forms filled in from `form`.
fn answer(
    outcome: Result<String, String>,
    form: &Form<'_>,
    tests: &[(String, String)],
) -> HttpResponse {
    let (status, notice, result) = match outcome {
        Ok(result) => (StatusCode::OK, None, Some(result)),
        Err(notice) => (StatusCode::BAD_REQUEST, Some(notice), None),
    };
    respond(status, |nonce| {
        render::page(&Page {
            nonce,
            url: form.url,
            refresh: form.refresh,
            as_field: form.as_field,
            notice: notice.as_deref(),
            result,
            tests,
            test: form.test,
        })
    })
}

/// `POST /lab/login`: the token form; a right token sets the lab cookie.
#[tracing::instrument(name = "lab_login", skip_all)]
pub async fn login(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LabError> {
    let secure = state.consent.secure();
    let Some(expected) = &state.settings.lab_token else {
        gate(&req, &state.settings, secure)?;
        return Ok(see_lab());
    };
    let form = read_form(&req, payload, &state.settings).await?;
    let presented = field(&form, "token").unwrap_or_default();
    if !bool::from(same_secret(&presented, expected.expose())) {
        tracing::info!(reason = "wrong", "lab token refused");
        return Err(LabError::TokenWrong);
    }
    let cookie = Cookie::build(cookie_name(secure), session_value(expected.expose()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::hours(COOKIE_HOURS))
        .finish();
    let mut response = see_lab();
    let _ = response.add_cookie(&cookie);
    Ok(response)
}

fn see_lab() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/lab"))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

pub async fn method_not_allowed() -> Result<HttpResponse, LabError> {
    Err(LabError::MethodNotAllowed)
}

async fn read_form(
    req: &HttpRequest,
    payload: web::Payload,
    settings: &Settings,
) -> Result<Vec<(String, String)>, LabError> {
    let limit = BodyLimit {
        max_bytes: MAX_FORM_BYTES,
        within: settings.body_read_timeout,
    };
    let body = read_limited(req, payload, limit)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => LabError::TooLarge,
            BodyError::TooSlow => LabError::TooSlow,
            BodyError::Unreadable => LabError::Unreadable,
        })?;
    Ok(url::form_urlencoded::parse(&body).into_owned().collect())
}

fn field(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}

/// The result sections for a link, or the sentence saying why it cannot be previewed.
async fn from_url(
    state: &AppState,
    raw: &str,
    refresh: bool,
    viewer: &Viewer,
) -> Result<String, String> {
    let unfurler = &state.unfurler;
    let link = unfurler
        .link(raw)
        .map_err(|e| format!("This link cannot be previewed: {e}."))?;
    let patterns = unfurler.registry().explain(&link.url);
    // The provider runs in this task (a miss is read by its first asker), so the recorder
    // sees its requests; a hit, or a read another request started, shows none.
    let (traced, calls) = notion_unfurl_sdk::trace::record(unfurler.unfurl_traced(
        &link,
        Some(&viewer.requester),
        refresh,
    ))
    .await;
    let json: Value = serde_json::from_slice(&traced.entry.body).unwrap_or(Value::Null);
    let payload = Payload::from_json(&json).unwrap_or_default();
    let sharing = match traced.entry.outcome {
        Outcome::Preview { public: true, .. } => Sharing::Public,
        Outcome::Preview { public: false, .. } => Sharing::Account,
        Outcome::Failed { .. } => Sharing::Unknown,
    };
    let key = traced.key.as_ref().map(|key| {
        let scope = match &key.scope {
            Scope::Public => "public".to_owned(),
            Scope::Account(account) => format!("account {account}"),
            Scope::Anonymous => "anonymous (the provider reads no account)".to_owned(),
        };
        let shared = if traced.entry.is_public() {
            "; also under the shared public key"
        } else {
            ""
        };
        format!("{} \u{b7} {scope} \u{b7} {}{shared}", key.provider, key.uri)
    });
    let cache = match traced.cache {
        CacheUse::Hit => "from the cache",
        CacheUse::Miss => "read from the provider just now (it was not cached), then cached",
        CacheUse::Refreshed => "read from the provider past the cache (refresh), then cached",
        CacheUse::NoProvider => "no provider accepts the link: nothing was read or cached",
    };
    let placeholder = unfurler.registry().route(&link.url).map(|(_, pattern)| {
        let captures = patterns
            .iter()
            .find(|p| p.chosen)
            .map(|p| p.captures.clone())
            .unwrap_or_default();
        let attrs = serde_json::to_value(&pattern.placeholder).unwrap_or(Value::Null);
        substitute_json(&attrs, &captures)
    });
    let trace = format!(
        "{}{}<h3>Upstream requests</h3>{}",
        viewer.sentence(),
        render::trace(&Trace {
            patterns: &patterns,
            key,
            cache,
        }),
        upstream::table(&calls, traced.cache)
    );
    let mut permalink =
        url::form_urlencoded::Serializer::for_suffix(String::from("/lab?"), "/lab?".len());
    permalink.append_pair("url", raw);
    let mut save = url::form_urlencoded::Serializer::for_suffix(
        String::from("/lab/save?"),
        "/lab/save?".len(),
    );
    save.append_pair("url", raw);
    if viewer.named {
        permalink.append_pair("as", viewer.field());
        save.append_pair("as", viewer.field());
    }
    // Only a link some provider takes can be saved as that provider's test.
    let save = (traced.cache != CacheUse::NoProvider).then(|| save.finish());
    let images = images::checks(unfurler.guarded(), &payload.effective()).await;
    Ok(result(
        &payload,
        &json,
        sharing,
        placeholder.as_ref(),
        Some(&trace),
        &Keep {
            permalink: permalink.finish(),
            save,
        },
        images,
    ))
}

/// The result sections for pasted JSON, or the sentence saying why it cannot be read.
async fn from_json(guarded: &GuardedClient, pasted: &str) -> Result<String, String> {
    if pasted.trim().is_empty() {
        return Err("Paste a callback body or an attribute array first.".to_owned());
    }
    let (payload, json) =
        Payload::parse(pasted).map_err(|e| format!("The pasted JSON cannot be rendered: {e}."))?;
    let images = images::checks(guarded, &payload.effective()).await;
    Ok(result(
        &payload,
        &json,
        Sharing::Unknown,
        None,
        None,
        &Keep::permalink(render::json_permalink(pasted)),
        images,
    ))
}

/// The links that keep a result: its permalink, and "save as test" for a routed link.
struct Keep {
    permalink: String,
    save: Option<String>,
}

impl Keep {
    fn permalink(permalink: String) -> Self {
        Self {
            permalink,
            save: None,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn result(
    payload: &Payload,
    json: &Value,
    sharing: Sharing,
    placeholder: Option<&Value>,
    trace: Option<&str>,
    keep: &Keep,
    images: Vec<checks::Check>,
) -> String {
    use html_escape::encode_double_quoted_attribute as attr;
    let kept = payload.effective();
    let mut checks = checks::run(payload, sharing);
    checks.extend(images);
    let placeholder = placeholder
        .and_then(Payload::from_json)
        .map(|p| {
            format!(
                "<h2>Placeholder</h2><p class=\"muted\">Shown while the preview loads: the \
                 pattern's placeholder attributes (as <code>notion-config</code> prints them) \
                 with this link's captures.</p><div class=\"theme light\" id=\"placeholder\">{}</div>",
                render::preview(&p.effective(), None)
            )
        })
        .unwrap_or_default();
    let trace = trace
        .map(|t| format!("<h2>Route</h2>{t}"))
        .unwrap_or_else(|| {
            "<h2>Route</h2><p class=\"muted\">Pasted JSON: no route and no cache.</p>".to_owned()
        });
    format!(
        "<section class=\"layout\" id=\"result\"><div>{placeholder}\
         <h2>Preview and mention</h2>{themes}{trace}</div>\
         <aside><h2>Checks</h2>{checks}</aside></section>\
         <section><h2>Raw answer</h2>{raw}<p><a id=\"permalink\" href=\"{permalink}\">Permalink</a>{save}</p></section>",
        save = keep
            .save
            .as_deref()
            .map(|save| format!(
                " \u{b7} <a id=\"save\" href=\"{}\" download>Save as test</a> \
             <span class=\"muted\">(reads the link once more, past the cache, and downloads \
             its upstream answers with the attributes made of them, as a test)</span>",
                attr(save)
            ))
            .unwrap_or_default(),
        themes = render::themes(&kept, payload.error.as_ref()),
        checks = render::checks(&checks),
        raw = render::raw(json),
        permalink = attr(&keep.permalink),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_vars(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    const TOKEN: &str = "a-lab-token-long-enough";

    #[test]
    fn without_a_token_only_unforwarded_loopback_requests_pass() {
        let loopback = settings(&[("UNFURL_LISTEN", "127.0.0.1:8080")]);
        let plain = TestRequest::default().to_http_request();
        assert!(gate(&plain, &loopback, false).is_ok());
        let proxied = TestRequest::default()
            .insert_header(("X-Forwarded-For", "203.0.113.7"))
            .to_http_request();
        assert!(matches!(
            gate(&proxied, &loopback, false),
            Err(LabError::Off)
        ));
        let public = settings(&[("UNFURL_LISTEN", "0.0.0.0:8080")]);
        assert!(matches!(gate(&plain, &public, false), Err(LabError::Off)));
    }

    #[test]
    fn with_a_token_the_cookie_or_the_header_must_carry_it() {
        for listen in ["127.0.0.1:8080", "0.0.0.0:8080"] {
            let s = settings(&[("UNFURL_LISTEN", listen), ("UNFURL_LAB_TOKEN", TOKEN)]);
            let none = TestRequest::default().to_http_request();
            assert!(matches!(
                gate(&none, &s, false),
                Err(LabError::TokenMissing)
            ));
            let bearer = |t: &str| {
                TestRequest::default()
                    .insert_header(("Authorization", format!("Bearer {t}")))
                    .to_http_request()
            };
            assert!(gate(&bearer(TOKEN), &s, false).is_ok());
            assert!(matches!(
                gate(&bearer("nope"), &s, false),
                Err(LabError::TokenWrong)
            ));
            let cookie = |name: &str, value: String| {
                TestRequest::default()
                    .cookie(Cookie::new(name.to_owned(), value))
                    .to_http_request()
            };
            assert!(gate(&cookie("unfurl_lab", session_value(TOKEN)), &s, false).is_ok());
            assert!(gate(&cookie("__Host-unfurl_lab", session_value(TOKEN)), &s, true).is_ok());
            // The token itself is not the cookie, nor another token's HMAC.
            assert!(gate(&cookie("unfurl_lab", TOKEN.to_owned()), &s, false).is_err());
            assert!(
                gate(
                    &cookie("unfurl_lab", session_value("other-token-xxxxx")),
                    &s,
                    false
                )
                .is_err()
            );
        }
    }

    #[tokio::test]
    async fn bad_json_is_a_sentence_not_a_failure() {
        let guarded = GuardedClient::new(Default::default()).unwrap_or_else(|e| panic!("{e}"));
        let notice = from_json(&guarded, "{\"operations\": [")
            .await
            .err()
            .unwrap_or_default();
        assert!(notice.starts_with("The pasted JSON cannot be rendered: this is not JSON"));
        let notice = from_json(&guarded, "  ").await.err().unwrap_or_default();
        assert_eq!(notice, "Paste a callback body or an attribute array first.");
    }

    #[test]
    fn every_page_carries_the_strict_headers() {
        let response = respond(StatusCode::OK, |nonce| format!("<p>{nonce}</p>"));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.starts_with("default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; script-src 'nonce-"), "{csp}");
        assert!(
            csp.contains("form-action 'self'; frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("cache-control"), "no-store");
    }
}
