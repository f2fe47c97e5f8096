//! The upstream services an account linked, as the unfurl path needs them: every token,
//! each refreshed first when it is about to run out (the refresh token rotated when the
//! service issues a new one), and linking a new one after the browser came back.

use std::collections::BTreeMap;

use notion_unfurl_sdk::{Account, Secret};

use crate::clients::services::{ServiceError, ServiceLogins, Tokens};
use crate::platform::clock::unix_secs;
use crate::store::{GITHUB, IssuedTokens, ServiceToken, Store, StoreError};

/// A token running out within this many seconds is refreshed before use. Longer than a
/// connection stays cached ([`super::connections::CONNECTION_TTL`]), so a cached account
/// never holds a token that ran out while cached.
pub const REFRESH_MARGIN_SECS: i64 = 120;

/// The account `key` with the tokens of every service it linked: GitHub's as its upstream
/// token, a declared service's in `services` (refreshed when about to run out). A service
/// no provider file declares any more is left out.
pub async fn account_with_services(
    store: &Store,
    logins: &ServiceLogins,
    key: &str,
) -> Result<Account, StoreError> {
    let mut upstream = None;
    let mut services = BTreeMap::new();
    for token in store.service_tokens(key).await? {
        if token.service == GITHUB {
            upstream = Some(token.access_token);
            continue;
        }
        if logins.get(&token.service).is_none() {
            continue;
        }
        let service = token.service.clone();
        if let Some(access) = fresh(store, logins, key, token).await? {
            services.insert(service, access);
        }
    }
    let mut account = Account::new(key, upstream);
    account.services = services;
    Ok(account)
}

/// Revoke at their services (RFC 7009) the tokens of links just dropped here, for the
/// services whose files name a revocation endpoint; a failure is logged (the tokens then
/// run out there). GitHub's token is left to GitHub's own expiry.
pub async fn revoke_at_services(logins: &ServiceLogins, tokens: Vec<ServiceToken>) {
    for token in tokens {
        let Some(login) = logins.get(&token.service) else {
            continue;
        };
        match login
            .revoke(&token.access_token, token.refresh_token.as_ref())
            .await
        {
            Ok(true) => {
                tracing::info!(service = %token.service, "revoked the tokens at the service")
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(
                error = %e,
                "could not revoke the tokens at the service; they stay valid there until they run out"
            ),
        }
    }
}

/// `token`'s access token, refreshed first when it is about to run out and a refresh
/// token is at hand; `None` when the service refused the refresh token (the link is gone:
/// the preview asks the user to connect again).
async fn fresh(
    store: &Store,
    logins: &ServiceLogins,
    key: &str,
    token: ServiceToken,
) -> Result<Option<Secret>, StoreError> {
    let (Some(expires_at), Some(refresh), Some(login)) = (
        token.expires_at,
        &token.refresh_token,
        logins.get(&token.service),
    ) else {
        return Ok(Some(token.access_token));
    };
    if expires_at > unix_secs() + REFRESH_MARGIN_SECS {
        return Ok(Some(token.access_token));
    }
    match login.refresh(refresh).await {
        Ok(tokens) => {
            save(store, key, &token.service, &tokens).await?;
            tracing::info!(service = %token.service, "refreshed a service token");
            Ok(Some(tokens.access_token))
        }
        Err(ServiceError::Refused { reason, .. }) => {
            // Another server sharing the database may have rotated it a moment ago: its
            // new row is the one to use, not a reason to forget the link.
            if let Some(now) = store.service_token(key, &token.service).await?
                && now.updated_at != token.updated_at
            {
                return Ok(Some(now.access_token));
            }
            tracing::warn!(service = %token.service, %reason, "a service refused a refresh token: the account must link it again");
            store.delete_service_token(key, &token.service).await?;
            Ok(None)
        }
        Err(e) => {
            // Unreachable now: the old token may still work until it runs out.
            tracing::warn!(service = %token.service, error = %e, "could not refresh a service token");
            Ok(Some(token.access_token))
        }
    }
}

/// Store tokens a service issued for the account `key`.
pub async fn save(
    store: &Store,
    key: &str,
    service: &str,
    tokens: &Tokens,
) -> Result<(), StoreError> {
    store
        .put_service_token(
            key,
            service,
            IssuedTokens {
                access_token: &tokens.access_token,
                refresh_token: tokens.refresh_token.as_ref(),
                expires_at: tokens.expires_at,
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use url::Url;

    use super::*;
    use crate::clients::oauth_http::OAuthHttp;
    use crate::clients::services::ServiceApp;
    use crate::oauth::connections::Connections;
    use crate::oauth::grants::Grants;
    use crate::platform::crypto::cipher::Cipher;
    use crate::platform::crypto::keys::Keys;
    use crate::store::NewConnection;

    const ROOT: &[u8] = b"a root secret of at least thirty-two bytes";

    /// Every request an https endpoint read: its head and body as text.
    type Seen = Arc<Mutex<Vec<String>>>;

    /// An https endpoint answering 200 to everything: its certificate (DER), URL and requests.
    async fn https_endpoint() -> (Vec<u8>, Url, Seen) {
        use tokio_rustls::rustls;
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
            .unwrap_or_else(|e| panic!("{e}"));
        let key = rustls::pki_types::PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .and_then(|c| {
            c.with_no_client_auth()
                .with_single_cert(vec![made.cert.der().clone()], key.into())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let seen = Seen::default();
        let kept = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, kept) = (acceptor.clone(), kept.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let mut read = Vec::new();
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = tls.read(&mut buf).await {
                        read.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&read).to_lowercase();
                        let Some((head, body)) = text.split_once("\r\n\r\n") else {
                            continue;
                        };
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if body.len() >= length {
                            break;
                        }
                    }
                    kept.lock()
                        .unwrap_or_else(|e| panic!("{e}"))
                        .push(String::from_utf8_lossy(&read).into_owned());
                    let answer =
                        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        let url =
            Url::parse(&format!("https://127.0.0.1:{port}/")).unwrap_or_else(|e| panic!("{e}"));
        (made.cert.der().to_vec(), url, seen)
    }

    fn app(base: &Url) -> ServiceApp {
        let at = |path: &str| base.join(path).unwrap_or_else(|e| panic!("{e}"));
        ServiceApp {
            id: "gitlab".into(),
            name: "GitLab".into(),
            authorize_url: at("oauth/authorize"),
            token_url: at("oauth/token"),
            scopes: vec!["read_api".into()],
            client_id: "gl-app".into(),
            client_secret: Secret::new("gl-app-secret"),
            secret_in_body: false,
            revoke_url: Some(at("oauth/revoke")),
        }
    }

    #[tokio::test]
    async fn revoking_an_accounts_last_connection_revokes_its_tokens_at_the_service() {
        let (root, base, seen) = https_endpoint().await;
        let logins = ServiceLogins::with_http(
            vec![app(&base)],
            &Url::parse("https://unfurl.test/").unwrap_or_else(|e| panic!("{e}")),
            OAuthHttp::trusting(&root),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let dir = std::env::temp_dir().join(format!(
            "services-revoke-{}",
            crate::platform::crypto::random_id()
        ));
        let url = format!("sqlite://{}/db.sqlite", dir.display());
        let store = Store::connect(&url, Cipher::from_root(ROOT, 1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .upsert_account("github:1", "ada", Some(&Secret::new("gho_upstream")))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let linked = IssuedTokens {
            access_token: &Secret::new("gl-access"),
            refresh_token: Some(&Secret::new("gl-refresh")),
            expires_at: None,
        };
        store
            .put_service_token("github:1", "gitlab", linked)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let connection = store
            .create_connection(NewConnection::notion("github:1"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let connections = Connections::new(store.clone(), logins);
        let tokens = crate::oauth::tokens::Tokens::new(
            &Keys::derive(ROOT),
            "https://unfurl.test".into(),
            "https://unfurl.test/unfurl".into(),
            Duration::from_secs(3600),
        );
        Grants::new(&connections, &tokens)
            .revoke_connection(&connection.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            store
                .service_tokens("github:1")
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_empty()
        );

        // In the background: the refresh token, then the access token, with the client's
        // credentials; GitHub's token is not sent there.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let requests = loop {
            let requests = seen.lock().unwrap_or_else(|e| panic!("{e}")).clone();
            if requests.len() >= 2 || tokio::time::Instant::now() > deadline {
                break requests;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(requests.len(), 2, "{requests:?}");
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode("gl-app:gl-app-secret");
        for (request, (token, hint)) in requests.iter().zip([
            ("gl-refresh", "refresh_token"),
            ("gl-access", "access_token"),
        ]) {
            assert!(request.starts_with("POST /oauth/revoke "), "{request}");
            assert!(request.contains(&format!("token={token}")), "{request}");
            assert!(
                request.contains(&format!("token_type_hint={hint}")),
                "{request}"
            );
            assert!(request.contains(&format!("Basic {basic}")), "{request}");
            assert!(!request.contains("gho_upstream"), "{request}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
