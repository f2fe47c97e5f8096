//! Account linking in the browser (protocol.md §1 steps 1–5): `GET /oauth/authorize`,
//! the consent `POST /oauth/authorize`, and `GET /oauth/github/callback`.
//!
//! `client_id` and `redirect_uri` are checked first and, when wrong, answered with an error
//! page: redirecting to an unchecked URI would make us an open redirect. Only after the
//! account is known (GitHub sign-in, or a fresh local account) is Notion's code traded, and
//! Notion receives our code only when that trade succeeded.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use url::Url;

use crate::clients::notion::NotionError;
use crate::http::limits::{Limits, retry_after_secs};
use crate::http::pages;
use crate::oauth::consent::{self, Pending, same_secret};
use crate::platform::crypto::random_token;
use crate::state::AppState;
use crate::store::NewConnection;

/// Query or form pairs, refusing a repeated name (security.md: reject repeated parameters)
/// and a name or value that is not UTF-8 once decoded: decoding would replace its bytes,
/// and Notion's `state` must come back byte for byte or not at all.
fn unique_pairs(encoded: &[u8]) -> Option<Vec<(String, String)>> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(encoded) {
        let replaced = |text: &str| text.contains(char::REPLACEMENT_CHARACTER);
        if replaced(&name) || replaced(&value) || pairs.iter().any(|(seen, _)| *seen == name) {
            return None;
        }
        pairs.push((name.into_owned(), value.into_owned()));
    }
    Some(pairs)
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .finish()
}

/// `redirect_uri` (already checked against the allow-list) with our parameters added.
fn back_to_notion(redirect_uri: &str, params: &[(&str, &str)]) -> HttpResponse {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (name, value) in params {
                    query.append_pair(name, value);
                }
            }
            see_other(url.as_str())
        }
        Err(_) => pages::error(StatusCode::BAD_REQUEST, "The return address is not valid."),
    }
}

fn with_state<'a>(
    params: Vec<(&'a str, &'a str)>,
    state: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut params = params;
    if let Some(state) = state {
        params.push(("state", state));
    }
    params
}

fn pending_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build(state.consent.cookie_name(), value)
        .path("/")
        .http_only(true)
        .secure(state.consent.secure())
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            crate::oauth::consent::PENDING_TTL.as_secs() as i64,
        ))
        .finish()
}

fn clear_cookie(state: &AppState, response: &mut HttpResponse) {
    let mut cookie = pending_cookie(state, String::new());
    cookie.make_removal();
    let _ = response.add_cookie(&cookie);
}

fn expired_page() -> HttpResponse {
    pages::error(
        StatusCode::BAD_REQUEST,
        "This sign-in has expired or was already used.",
    )
}

/// Take a single-use step of `pending`: `Ok(false)` if it was taken before (on any
/// instance), `Err` with the page to show if the database could not say.
async fn spend(state: &AppState, step: &str, pending: &Pending) -> Result<bool, HttpResponse> {
    consent::spend(&state.store, step, pending)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not record a single-use sign-in step");
            pages::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server could not continue this sign-in. Please try again.",
            )
        })
}

/// `GET /oauth/authorize`: validate Notion's request and show the consent page.
#[tracing::instrument(name = "oauth_authorize", skip_all)]
pub async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(pairs) = unique_pairs(req.query_string().as_bytes()) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "The request repeats a parameter or holds one that cannot be read.",
        );
    };
    let settings = &state.settings;
    let Some(expected_client) = settings.oauth_client_id.as_deref() else {
        tracing::warn!("UNFURL_OAUTH_CLIENT_ID is not set: account linking is off");
        return pages::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Account linking is not configured on this server.",
        );
    };
    let client_ok = param(&pairs, "client_id").is_some_and(|c| same_secret(c, expected_client));
    let redirect_uri = param(&pairs, "redirect_uri").filter(|uri| {
        settings
            .oauth_redirect_uris
            .iter()
            .any(|allowed| allowed == uri)
    });
    let (true, Some(redirect_uri)) = (client_ok, redirect_uri) else {
        tracing::info!(
            client_ok,
            "authorize refused: unknown client or redirect_uri"
        );
        return pages::error(
            StatusCode::BAD_REQUEST,
            "This request did not come from a known Notion integration.",
        );
    };
    let notion_state = param(&pairs, "state");
    let code = param(&pairs, "code");
    let (Some("code"), Some(code), Some(notion_state)) =
        (param(&pairs, "response_type"), code, notion_state)
    else {
        return back_to_notion(
            redirect_uri,
            &with_state(vec![("error", "invalid_request")], notion_state),
        );
    };
    let pending = state
        .consent
        .begin(code, notion_state, redirect_uri, expected_client);
    let Some(cookie) = state.consent.seal(&pending) else {
        return pages::error(StatusCode::INTERNAL_SERVER_ERROR, "Please try again.");
    };
    let account = if state.github.is_some() {
        "your GitHub account (you sign in with GitHub next)"
    } else {
        "a new account on this server"
    };
    let mut response = pages::consent(&settings.developer_name, account, &pending.csrf);
    let _ = response.add_cookie(&pending_cookie(&state, cookie));
    response
}

/// A 429 page with `Retry-After` when `req`'s address ran out of sign-in steps.
fn rate_limited(req: &HttpRequest, limits: &Limits) -> Option<HttpResponse> {
    let wait = limits.sign_in.check(req).err()?;
    let mut page = pages::error(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many connection attempts came from your network. Please wait a minute and try again.",
    );
    page.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        retry_after_secs(wait).into(),
    );
    Some(page)
}

/// The largest consent form read: a CSRF token and a decision take well under 1 KiB.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// `POST /oauth/authorize`: the consent decision.
#[tracing::instrument(name = "oauth_consent", skip_all)]
pub async fn decide(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    limits: web::Data<Limits>,
) -> HttpResponse {
    if let Some(page) = rate_limited(&req, &limits) {
        return page;
    }
    // The form is a CSRF token and a decision. A compressed body is refused unread: the
    // only sender is our own page, and inflating a stranger's body costs memory first.
    if req
        .headers()
        .contains_key(actix_web::http::header::CONTENT_ENCODING)
    {
        return pages::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "This form was not sent from the consent page.",
        );
    }
    let body = match crate::http::request::read_limited(&req, payload, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(crate::http::request::BodyError::TooLarge) => {
            return pages::error(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
        }
        Err(crate::http::request::BodyError::Unreadable) => {
            return pages::error(StatusCode::BAD_REQUEST, "The form could not be read.");
        }
    };
    let Some(form) = unique_pairs(&body) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "The form repeats a field or holds one that cannot be read.",
        );
    };
    let cookie = req.cookie(state.consent.cookie_name());
    let pending = match state.consent.open(cookie.as_ref().map(|c| c.value())) {
        Ok(pending) => pending,
        Err(e) => {
            tracing::info!(error = %e, "consent without a usable pending authorisation");
            return expired_page();
        }
    };
    let csrf_ok = param(&form, "csrf").is_some_and(|csrf| same_secret(csrf, &pending.csrf));
    if !csrf_ok {
        tracing::info!("consent refused: CSRF token mismatch");
        return pages::error(
            StatusCode::FORBIDDEN,
            "This form was not sent from the consent page.",
        );
    }
    match spend(&state, &format!("consent:{}", pending.id), &pending).await {
        Ok(true) => {}
        Ok(false) => return expired_page(),
        Err(page) => return page,
    }
    let mut response = match param(&form, "decision") {
        Some("allow") => allow(&state, pending).await,
        Some("deny") => back_to_notion(
            &pending.redirect_uri,
            &[("error", "access_denied"), ("state", &pending.state)],
        ),
        _ => pages::error(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    };
    if response.status() != StatusCode::SEE_OTHER
        || !response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| state.github.is_some() && l.contains("/login/oauth/authorize"))
    {
        clear_cookie(&state, &mut response);
    }
    response
}

async fn allow(state: &AppState, mut pending: Pending) -> HttpResponse {
    let Some(github) = &state.github else {
        let key = format!("local:{}", &random_token()[..32]);
        return link(state, &pending, &key, "Local account", None).await;
    };
    let started = match github.start() {
        Ok(started) => started,
        Err(e) => {
            tracing::error!(error = %e, "could not start GitHub sign-in");
            return pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "GitHub sign-in is unavailable.",
            );
        }
    };
    pending.github_state = Some(started.state);
    pending.pkce_verifier = Some(started.pkce_verifier);
    let Some(cookie) = state.consent.seal(&pending) else {
        return pages::error(StatusCode::INTERNAL_SERVER_ERROR, "Please try again.");
    };
    let mut response = see_other(started.url.as_str());
    let _ = response.add_cookie(&pending_cookie(state, cookie));
    response
}

/// `GET /oauth/github/callback`: GitHub sent the browser back.
#[tracing::instrument(name = "oauth_github_callback", skip_all)]
pub async fn github_callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    limits: web::Data<Limits>,
) -> HttpResponse {
    if let Some(page) = rate_limited(&req, &limits) {
        return page;
    }
    let (mut response, finished) = github_callback_inner(&req, &state).await;
    if finished {
        clear_cookie(&state, &mut response);
    }
    response
}

/// The answer, and whether the pending authorisation is finished (its cookie cleared).
/// A callback whose `state` does not match leaves it alone: a forged request must not be
/// able to end this browser's real sign-in.
async fn github_callback_inner(req: &HttpRequest, state: &AppState) -> (HttpResponse, bool) {
    let Some(github) = &state.github else {
        return (
            pages::error(StatusCode::NOT_FOUND, "GitHub sign-in is not configured."),
            true,
        );
    };
    let Some(query) = unique_pairs(req.query_string().as_bytes()) else {
        return (
            pages::error(StatusCode::BAD_REQUEST, "The request repeats a parameter."),
            true,
        );
    };
    let cookie = req.cookie(state.consent.cookie_name());
    let pending = match state.consent.open(cookie.as_ref().map(|c| c.value())) {
        Ok(pending) => pending,
        Err(e) => {
            tracing::info!(error = %e, "GitHub callback without a usable pending authorisation");
            return (expired_page(), true);
        }
    };
    let (Some(expected), Some(verifier)) = (&pending.github_state, &pending.pkce_verifier) else {
        return (expired_page(), true);
    };
    let state_ok = param(&query, "state").is_some_and(|s| same_secret(s, expected));
    if !state_ok {
        tracing::info!("GitHub callback refused: state mismatch");
        let page = pages::error(
            StatusCode::FORBIDDEN,
            "This sign-in did not start in this browser.",
        );
        return (page, false);
    }
    match spend(state, &format!("github:{expected}"), &pending).await {
        Ok(true) => {}
        Ok(false) => return (expired_page(), true),
        Err(page) => return (page, false),
    }
    if param(&query, "error").is_some() {
        return (
            back_to_notion(
                &pending.redirect_uri,
                &[("error", "access_denied"), ("state", &pending.state)],
            ),
            true,
        );
    }
    let Some(code) = param(&query, "code") else {
        return (
            pages::error(
                StatusCode::BAD_REQUEST,
                "GitHub did not send a sign-in code.",
            ),
            true,
        );
    };
    let user = match github.finish(code, verifier).await {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!(error = %e, "GitHub sign-in failed");
            return (
                pages::error(StatusCode::BAD_GATEWAY, "GitHub sign-in did not succeed."),
                true,
            );
        }
    };
    let key = format!("github:{}", user.id);
    let name = format!("GitHub - {}", user.login);
    (
        link(state, &pending, &key, &name, Some(&user.token)).await,
        true,
    )
}

/// Trade Notion's code, store the account and the connection, send our code to Notion.
async fn link(
    state: &AppState,
    pending: &Pending,
    account_key: &str,
    account_name: &str,
    upstream_token: Option<&notion_unfurl_sdk::Secret>,
) -> HttpResponse {
    let store = &state.store;
    let unavailable = || {
        pages::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server could not save this connection. Please try again.",
        )
    };
    // Notion first: a made-up or spent code must leave nothing behind (no account row, no
    // upstream token) for a stranger to pile up.
    let grant = match state
        .notion
        .exchange_code(&pending.notion_code, account_key, account_name)
        .await
    {
        Ok(grant) => grant,
        Err(e @ NotionError::Refused { .. }) => {
            tracing::warn!(error = %e, "Notion refused the code exchange");
            return pages::error(
                StatusCode::BAD_GATEWAY,
                "Notion did not accept this connection. Start again from Notion.",
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "Notion code exchange failed");
            return pages::error(
                StatusCode::BAD_GATEWAY,
                "Notion could not be reached. Please try again in a moment.",
            );
        }
    };
    if let Err(e) = store
        .upsert_account(account_key, account_name, upstream_token)
        .await
    {
        tracing::error!(error = %e, "could not store the account");
        return unavailable();
    }
    let connection = match store
        .create_connection(NewConnection {
            account_key: account_key.to_owned(),
            bot_id: grant.bot_id,
            workspace_id: grant.workspace_id,
            workspace_name: grant.workspace_name,
            workspace_icon: grant.workspace_icon,
            notion_token: Some(grant.access_token),
        })
        .await
    {
        Ok(connection) => connection,
        Err(e) => {
            tracing::error!(error = %e, "could not store the connection");
            return unavailable();
        }
    };
    let code = match crate::oauth::grants::mint_code(
        store,
        &connection.id,
        &pending.client_id,
        &pending.redirect_uri,
    )
    .await
    {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = %e, "could not store the authorisation code");
            return unavailable();
        }
    };
    tracing::info!(account = account_key, "account linked");
    back_to_notion(
        &pending.redirect_uri,
        &[("code", &code), ("state", &pending.state)],
    )
}
