//! Linking the services provider files declare, between the consent page and Notion
//! (issue 8, "per-service upstream accounts"): `POST /oauth/services` (link one, or
//! continue to Notion) and `GET /oauth/services/{id}/callback` (the service sent the
//! browser back).
//!
//! It runs only when provider files declare services: then, once the account is known and
//! Notion's code traded ([`crate::oauth::linking::connect`]), the browser sees the services
//! page, its pending authorisation carrying the connection. Each service is an OAuth 2.0
//! authorization code flow with PKCE S256 and its own `state`; the tokens are stored for
//! the account, encrypted, per service. "Continue to Notion" mints our code for the
//! connection and sends it back, once.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::limits::Limits;
use crate::http::oauth_authorize::{
    back_to_notion, callback_answer, form_answer, pages_with_pending, param, pending_cookie,
    read_form, see_other, sign_in_allowed, spend, unique_pairs,
};
use crate::http::pages::PageError;
use crate::oauth::consent::{Pending, ServiceStep};
use crate::oauth::{linking, services};
use crate::platform::crypto::same_secret;
use crate::state::AppState;

/// `POST /oauth/services`: `decision=link:<id>` starts that service's sign-in;
/// `decision=finish` sends our code to Notion.
#[tracing::instrument(name = "oauth_services", skip_all)]
pub async fn decide(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    limits: web::Data<Limits>,
) -> Result<HttpResponse, PageError> {
    sign_in_allowed(&req, &limits)?;
    let (form, pending) = read_form(&req, payload, &state).await?;
    let decided = match param(&form, "decision") {
        Some("finish") => finish(&state, &pending).await,
        Some(decision) => match decision.strip_prefix("link:") {
            Some(id) => start(&state, pending, id),
            None => Err(PageError::NoDecision),
        },
        None => Err(PageError::NoDecision),
    };
    Ok(form_answer(&state, decided))
}

/// Send the browser to service `id`'s consent page, its state and verifier kept.
fn start(state: &AppState, mut pending: Pending, id: &str) -> Result<HttpResponse, PageError> {
    if pending.linked.is_none() {
        return Err(PageError::Expired);
    }
    let login = state.services.get(id).ok_or(PageError::UnknownService)?;
    let started = login.start();
    pending.service = Some(ServiceStep {
        id: id.to_owned(),
        state: started.state,
        pkce_verifier: started.pkce_verifier,
    });
    let cookie = state.consent.seal(&pending).ok_or(PageError::NotSealed)?;
    let mut response = see_other(started.url.as_str());
    let _ = response.add_cookie(&pending_cookie(state, cookie));
    Ok(response)
}

/// Mint our code for the connection and send it to Notion: once per pending authorisation.
async fn finish(state: &AppState, pending: &Pending) -> Result<HttpResponse, PageError> {
    let Some(linked) = &pending.linked else {
        return Err(PageError::Expired);
    };
    if !spend(state, &format!("finish:{}", pending.id), pending).await? {
        return Err(PageError::Expired);
    }
    let code = linking::finish(&state.store, pending, &linked.connection_id).await?;
    back_to_notion(
        &pending.redirect_uri,
        &[("code", &code), ("state", &pending.state)],
    )
}

/// `GET /oauth/services/{id}/callback`: the service sent the browser back with a code
/// (or an error). The tokens are stored for the account, and the services page shown
/// again, saying what happened.
#[tracing::instrument(name = "oauth_service_callback", skip_all, fields(service = %path.as_str()))]
pub async fn callback(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    limits: web::Data<Limits>,
) -> Result<HttpResponse, PageError> {
    sign_in_allowed(&req, &limits)?;
    let answer = callback_inner(&req, &path, &state).await;
    Ok(callback_answer(&state, answer))
}

async fn callback_inner(
    req: &HttpRequest,
    id: &str,
    state: &AppState,
) -> Result<HttpResponse, PageError> {
    let login = state.services.get(id).ok_or(PageError::UnknownService)?;
    let query =
        unique_pairs(req.query_string().as_bytes()).ok_or(PageError::RepeatedCallbackParameter)?;
    let cookie = req.cookie(state.consent.cookie_name());
    let mut pending = state
        .consent
        .open(cookie.as_ref().map(|c| c.value()))
        .map_err(|e| {
            tracing::info!(error = %e, "service callback without a usable pending authorisation");
            PageError::Expired
        })?;
    let Some(linked) = pending.linked.clone() else {
        return Err(PageError::Expired);
    };
    let Some(step) = pending.service.take() else {
        // Reloaded, or the back button: that sign-in finished already. Nothing is traded;
        // the page is shown again, so the way on to Notion stays open.
        let notice = format!(
            "That {} sign-in was used already. Link it again if it did not finish.",
            login.app.name
        );
        return pages_with_pending(state, &pending, Some(&notice)).await;
    };
    let state_ok = step.id == id
        && param(&query, "state").is_some_and(|s| bool::from(same_secret(s, &step.state)));
    if !state_ok {
        tracing::info!("service callback refused: state mismatch");
        return Err(PageError::StateMismatch);
    }
    if !spend(state, &format!("service:{}", step.state), &pending).await? {
        return Err(PageError::Expired);
    }
    let name = &login.app.name;
    if param(&query, "error").is_some() {
        let notice = format!("{name} was not linked: you declined, or {name} refused.");
        return pages_with_pending(state, &pending, Some(&notice)).await;
    }
    let Some(code) = param(&query, "code") else {
        let notice = format!("{name} sent no sign-in code: {name} was not linked.");
        return pages_with_pending(state, &pending, Some(&notice)).await;
    };
    let notice = match login.finish(code, &step.pkce_verifier).await {
        Ok(tokens) => {
            services::save(&state.store, &linked.account_key, id, &tokens)
                .await
                .map_err(|source| PageError::NotSaved {
                    what: "service token",
                    source,
                })?;
            tracing::info!(account = %linked.account_key, "service linked");
            format!("{name} is linked.")
        }
        Err(e) => {
            tracing::warn!(error = %e, "a service sign-in did not finish");
            format!("{name} did not link your account. Try again, or continue without it.")
        }
    };
    pages_with_pending(state, &pending, Some(&notice)).await
}
