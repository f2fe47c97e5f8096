//! Account linking in the browser (protocol.md §1 steps 1–5): `GET /oauth/authorize`,
//! the consent `POST /oauth/authorize`, and `GET /oauth/github/callback`.
//!
//! `client_id` and `redirect_uri` are checked first and, when wrong, answered with an error
//! page: redirecting to an unchecked URI would make us an open redirect. Only after the
//! account is known (GitHub sign-in, or a fresh local account) is Notion's code traded, and
//! Notion receives our code only when that trade succeeded.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use url::Url;

use crate::http::limits::Limits;
use crate::http::pages::{self, PageError};
use crate::http::request::{BodyError, BodyLimit, read_limited};
use crate::oauth::consent::{self, Linked, Pending};
use crate::oauth::linking::{self, SignedIn};
use crate::platform::crypto::{random_token, same_secret};
use crate::state::AppState;

/// Query or form pairs, refusing a repeated name (security.md: reject repeated parameters)
/// and a name or value that is not UTF-8 once decoded: decoding would replace its bytes,
/// and Notion's `state` must come back byte for byte or not at all.
pub(crate) fn unique_pairs(encoded: &[u8]) -> Option<Vec<(String, String)>> {
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

pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .finish()
}

/// `redirect_uri` (already checked against the allow-list) with our parameters added.
pub(crate) fn back_to_notion(
    redirect_uri: &str,
    params: &[(&str, &str)],
) -> Result<HttpResponse, PageError> {
    let mut url = Url::parse(redirect_uri).map_err(|_| PageError::InvalidReturnAddress)?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    Ok(see_other(url.as_str()))
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

pub(crate) fn pending_cookie(state: &AppState, value: String) -> Cookie<'static> {
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

pub(crate) fn clear_cookie(state: &AppState, response: &mut HttpResponse) {
    let mut cookie = pending_cookie(state, String::new());
    cookie.make_removal();
    let _ = response.add_cookie(&cookie);
}

/// Take a single-use step of `pending`: `Ok(false)` if it was taken before (on any
/// instance), `Err` if the database could not say.
pub(crate) async fn spend(
    state: &AppState,
    step: &str,
    pending: &Pending,
) -> Result<bool, PageError> {
    consent::spend(&state.store, step, pending)
        .await
        .map_err(PageError::SignInStep)
}

/// Refused when `req`'s address ran out of sign-in steps.
pub(crate) fn sign_in_allowed(req: &HttpRequest, limits: &Limits) -> Result<(), PageError> {
    limits
        .sign_in
        .check(req)
        .map_err(|retry_after| PageError::RateLimited { retry_after })
}

/// `GET /oauth/authorize`: validate Notion's request and show the consent page.
#[tracing::instrument(name = "oauth_authorize", skip_all)]
pub async fn authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs = unique_pairs(req.query_string().as_bytes()).ok_or(PageError::RepeatedParameter)?;
    let settings = &state.settings;
    let expected_client = settings
        .oauth_client_id
        .as_deref()
        .ok_or(PageError::LinkingNotConfigured)?;
    let client_ok =
        param(&pairs, "client_id").is_some_and(|c| bool::from(same_secret(c, expected_client)));
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
        return Err(PageError::UnknownClient);
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
    let cookie = state.consent.seal(&pending).ok_or(PageError::NotSealed)?;
    let account = if state.github.is_some() {
        "your GitHub account (you sign in with GitHub next)"
    } else {
        "a new account on this server"
    };
    let mut response = pages::consent(&settings.developer_name, account, &pending.csrf);
    let _ = response.add_cookie(&pending_cookie(&state, cookie));
    Ok(response)
}

/// The largest consent form read: a CSRF token and a decision take well under 1 KiB.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// A form our own pages post (a CSRF token and a decision), checked against the pending
/// authorisation in the browser's cookie; both, or why not.
pub(crate) async fn read_form(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Vec<(String, String)>, Pending), PageError> {
    // A compressed body is refused unread: the only sender is our own page, and inflating
    // a stranger's body costs memory first.
    if req
        .headers()
        .contains_key(actix_web::http::header::CONTENT_ENCODING)
    {
        return Err(PageError::Compressed);
    }
    let limit = BodyLimit {
        max_bytes: MAX_FORM_BYTES,
        within: state.settings.body_read_timeout,
    };
    let body = read_limited(req, payload, limit)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => PageError::FormTooLarge,
            BodyError::TooSlow => PageError::FormTooSlow,
            BodyError::Unreadable => PageError::FormUnreadable,
        })?;
    let form = unique_pairs(&body).ok_or(PageError::RepeatedField)?;
    let cookie = req.cookie(state.consent.cookie_name());
    let pending = state
        .consent
        .open(cookie.as_ref().map(|c| c.value()))
        .map_err(|e| {
            tracing::info!(error = %e, "form without a usable pending authorisation");
            PageError::Expired
        })?;
    let csrf_ok =
        param(&form, "csrf").is_some_and(|csrf| bool::from(same_secret(csrf, &pending.csrf)));
    if !csrf_ok {
        tracing::info!("form refused: CSRF token mismatch");
        return Err(PageError::CsrfMismatch);
    }
    Ok((form, pending))
}

/// `POST /oauth/authorize`: the consent decision.
#[tracing::instrument(name = "oauth_consent", skip_all)]
pub async fn decide(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    limits: web::Data<Limits>,
) -> Result<HttpResponse, PageError> {
    sign_in_allowed(&req, &limits)?;
    let (form, pending) = read_form(&req, payload, &state).await?;
    if !spend(&state, &format!("consent:{}", pending.id), &pending).await? {
        return Err(PageError::Expired);
    }
    let decided = match param(&form, "decision") {
        Some("allow") => allow(&state, pending).await,
        Some("deny") => back_to_notion(
            &pending.redirect_uri,
            &[("error", "access_denied"), ("state", &pending.state)],
        ),
        _ => Err(PageError::NoDecision),
    };
    Ok(form_answer(&state, decided))
}

async fn allow(state: &AppState, mut pending: Pending) -> Result<HttpResponse, PageError> {
    let Some(github) = &state.github else {
        let key = format!("local:{}", &random_token()[..32]);
        let account = SignedIn {
            key: &key,
            name: "Local account",
            upstream_token: None,
        };
        return link(state, &pending, account).await;
    };
    let started = github.start().map_err(PageError::GitHubStart)?;
    pending.github_state = Some(started.state);
    pending.pkce_verifier = Some(started.pkce_verifier);
    let cookie = state.consent.seal(&pending).ok_or(PageError::NotSealed)?;
    let mut response = see_other(started.url.as_str());
    let _ = response.add_cookie(&pending_cookie(state, cookie));
    Ok(response)
}

/// `GET /oauth/github/callback`: GitHub sent the browser back.
#[tracing::instrument(name = "oauth_github_callback", skip_all)]
pub async fn github_callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    limits: web::Data<Limits>,
) -> Result<HttpResponse, PageError> {
    sign_in_allowed(&req, &limits)?;
    let answer = github_callback_inner(&req, &state).await;
    Ok(callback_answer(&state, answer))
}

/// A sign-in callback's page (GitHub's or a service's). Every answer finishes the pending
/// authorisation (clears its cookie) but those that carry it on, and two more. A callback
/// whose `state` does not match leaves it alone: a forged request must not be able to end
/// this browser's real sign-in. Nor does a store failure while spending its single-use
/// step: the step may not have been taken. Rendered here rather than by actix, so that the
/// cookie goes on error pages too.
pub(crate) fn callback_answer(
    state: &AppState,
    answer: Result<HttpResponse, PageError>,
) -> HttpResponse {
    let finished = !matches!(
        answer,
        Err(PageError::StateMismatch | PageError::SignInStep(_))
    );
    let mut response = answer.unwrap_or_else(HttpResponse::from_error);
    if finished && !sets_pending(state, &response) {
        clear_cookie(state, &mut response);
    }
    response
}

/// A form's page: the cookie is cleared unless the answer carries the pending
/// authorisation on (to GitHub or a service, or to the services page). Rendered here
/// rather than by actix, so that the cookie goes on error pages too.
pub(crate) fn form_answer(
    state: &AppState,
    decided: Result<HttpResponse, PageError>,
) -> HttpResponse {
    let mut response = decided.unwrap_or_else(HttpResponse::from_error);
    if !sets_pending(state, &response) {
        clear_cookie(state, &mut response);
    }
    response
}

async fn github_callback_inner(
    req: &HttpRequest,
    state: &AppState,
) -> Result<HttpResponse, PageError> {
    let github = state
        .github
        .as_ref()
        .ok_or(PageError::GitHubNotConfigured)?;
    let query =
        unique_pairs(req.query_string().as_bytes()).ok_or(PageError::RepeatedCallbackParameter)?;
    let cookie = req.cookie(state.consent.cookie_name());
    let pending = state
        .consent
        .open(cookie.as_ref().map(|c| c.value()))
        .map_err(|e| {
            tracing::info!(error = %e, "GitHub callback without a usable pending authorisation");
            PageError::Expired
        })?;
    let (Some(expected), Some(verifier)) = (&pending.github_state, &pending.pkce_verifier) else {
        return Err(PageError::Expired);
    };
    let state_ok = param(&query, "state").is_some_and(|s| bool::from(same_secret(s, expected)));
    if !state_ok {
        tracing::info!("GitHub callback refused: state mismatch");
        return Err(PageError::StateMismatch);
    }
    if !spend(state, &format!("github:{expected}"), &pending).await? {
        return Err(PageError::Expired);
    }
    if param(&query, "error").is_some() {
        return back_to_notion(
            &pending.redirect_uri,
            &[("error", "access_denied"), ("state", &pending.state)],
        );
    }
    let code = param(&query, "code").ok_or(PageError::NoGitHubCode)?;
    let user = github
        .finish(code, verifier)
        .await
        .map_err(PageError::GitHubSignIn)?;
    let key = format!("github:{}", user.id);
    let name = format!("GitHub - {}", user.login);
    let account = SignedIn {
        key: &key,
        name: &name,
        upstream_token: Some(&user.token),
    };
    link(state, &pending, account).await
}

/// Link the signed-in account and send our code back to Notion; or, when provider files
/// declare services the account may link, show the page that links them first
/// ([`crate::http::oauth_services`]), carrying the pending authorisation on.
async fn link(
    state: &AppState,
    pending: &Pending,
    account: SignedIn<'_>,
) -> Result<HttpResponse, PageError> {
    if state.services.is_empty() {
        let code = linking::link(&state.store, &state.notion, pending, account).await?;
        return back_to_notion(
            &pending.redirect_uri,
            &[("code", &code), ("state", &pending.state)],
        );
    }
    let connection_id = linking::connect(&state.store, &state.notion, pending, account).await?;
    let mut pending = pending.clone();
    pending.linked = Some(Linked {
        connection_id,
        account_key: account.key.to_owned(),
        account_name: account.name.to_owned(),
    });
    pages_with_pending(state, &pending, None).await
}

/// The services page for `pending`, with the pending authorisation sealed into its cookie.
pub(crate) async fn pages_with_pending(
    state: &AppState,
    pending: &Pending,
    notice: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let Some(linked) = &pending.linked else {
        return Err(PageError::Expired);
    };
    let linked_now: Vec<String> = state
        .store
        .service_tokens(&linked.account_key)
        .await
        .map_err(|source| PageError::NotSaved {
            what: "service links",
            source,
        })?
        .into_iter()
        .map(|t| t.service)
        .collect();
    let services: Vec<pages::ServiceRow<'_>> = state
        .services
        .all()
        .map(|s| pages::ServiceRow {
            id: &s.app.id,
            name: &s.app.name,
            linked: linked_now.contains(&s.app.id),
        })
        .collect();
    let cookie = state.consent.seal(pending).ok_or(PageError::NotSealed)?;
    let mut response = pages::services(&linked.account_name, &services, &pending.csrf, notice);
    let _ = response.add_cookie(&pending_cookie(state, cookie));
    Ok(response)
}

/// Whether `response` sets the pending authorisation's cookie to a value (carries it on).
pub(crate) fn sets_pending(state: &AppState, response: &HttpResponse) -> bool {
    response
        .cookies()
        .any(|c| c.name() == state.consent.cookie_name() && !c.value().is_empty())
}
