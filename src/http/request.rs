//! What every handler reads from a request the same way: the bearer token, the body
//! (bounded in size and time while it is read), and the client's address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use crate::platform::config::Settings;

/// The token of an `Authorization: Bearer …` header (scheme case-insensitive). Tokens are
/// read from this header only, never from the query string.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    // Bytes rather than `HeaderValue::to_str`, which checks a JWT's few hundred characters
    // one at a time on every request; a token that is not UTF-8 is refused just the same.
    let value = req.headers().get(header::AUTHORIZATION)?.as_bytes();
    let value = value.trim_ascii();
    let space = value.iter().position(|b| *b == b' ')?;
    let (scheme, token) = value.split_at(space);
    let token = token.trim_ascii();
    if !scheme.eq_ignore_ascii_case(b"bearer") || token.is_empty() {
        return None;
    }
    std::str::from_utf8(token).ok()
}

/// Headers a proxy adds to what it forwards (besides `UNFURL_CLIENT_IP_HEADER`).
const FORWARDING_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// Whether a proxy forwarded `req` (it carries a forwarding header, or the configured
/// client-address header): the operator pages' loopback default must not turn every
/// client of a proxy on the same machine into a loopback caller.
pub fn forwarded(req: &HttpRequest, settings: &Settings) -> bool {
    FORWARDING_HEADERS
        .iter()
        .copied()
        .chain(settings.client_ip_header.as_deref())
        .any(|name| req.headers().contains_key(name))
}

/// Why a request body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Declared or found to be over the limit (reading stops there).
    TooLarge,
    /// Not all there by the deadline.
    TooSlow,
    /// The connection failed while the body was read.
    Unreadable,
}

/// How much of a request body is read, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    pub max_bytes: usize,
    /// From the first read to the last byte (`UNFURL_BODY_READ_TIMEOUT_SECS`, or
    /// `UNFURL_WEBHOOK_READ_TIMEOUT_SECS` for a webhook).
    pub within: Duration,
}

/// The request body, read as a stream and refused as soon as it passes `limit.max_bytes`
/// bytes or `limit.within` has passed: the one reader of request bodies, so that no
/// sender, authenticated or not, can hold a connection by sending slowly. What is left of
/// a body that was given up on is not drained: `crate::http::bodies` closes its connection.
pub async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: BodyLimit,
) -> Result<Vec<u8>, BodyError> {
    let max = limit.max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(BodyError::TooLarge);
    }
    let read = async move {
        // Reserve for what is declared only up to a small bound: an unauthenticated caller
        // must send the bytes before it can make us hold them.
        let mut body = Vec::with_capacity(declared.unwrap_or(256).min(max).min(64 * 1024));
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
            if body.len() + chunk.len() > max {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(limit.within, read)
        .await
        .map_err(|_| BodyError::TooSlow)?
}

/// The client's address: from the trusted proxy's header when one is configured, else the
/// TCP peer. Of a list (`X-Forwarded-For`) the last address is taken: the one our proxy
/// appended; earlier ones are whatever the caller sent. IPv6 clients are keyed by their
/// /64, which one subscriber usually holds whole.
pub fn client_address(req: &HttpRequest, proxy_header: Option<&header::HeaderName>) -> IpAddr {
    let forwarded = proxy_header
        .and_then(|name| req.headers().get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|first| first.trim().parse::<IpAddr>().ok());
    let peer = forwarded.or_else(|| req.peer_addr().map(|addr| addr.ip()));
    match peer.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V6(v6)) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64))),
        Some(v4) => v4,
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::FromRequest;
    use actix_web::dev::Payload;
    use actix_web::error::PayloadError;

    use super::*;

    #[tokio::test]
    async fn a_body_that_stops_arriving_is_given_up_at_the_deadline() {
        let req = actix_web::test::TestRequest::post()
            .insert_header((header::CONTENT_LENGTH, "1024"))
            .to_http_request();
        let first = futures_util::stream::once(async { Ok(web::Bytes::from_static(b"{")) });
        let stalled: std::pin::Pin<
            Box<dyn futures_util::Stream<Item = Result<web::Bytes, PayloadError>>>,
        > = Box::pin(first.chain(futures_util::stream::pending()));
        let payload = web::Payload::from_request(&req, &mut Payload::from(stalled))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let limit = BodyLimit {
            max_bytes: 4096,
            within: Duration::from_millis(50),
        };
        assert_eq!(
            read_limited(&req, payload, limit).await,
            Err(BodyError::TooSlow)
        );
    }

    #[test]
    fn a_configured_proxy_header_names_the_client() {
        let name = header::HeaderName::from_static("fly-client-ip");
        let req = actix_web::test::TestRequest::default()
            .peer_addr(std::net::SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                1,
            ))
            .insert_header(("Fly-Client-IP", "203.0.113.7"))
            .to_http_request();
        assert_eq!(
            client_address(&req, Some(&name)),
            IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))
        );
        // Without the setting the header is not trusted.
        assert_eq!(
            client_address(&req, None),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))
        );
    }

    #[test]
    fn ipv6_clients_share_a_key_per_64() {
        let key = |ip: &str| {
            let req = actix_web::test::TestRequest::default()
                .peer_addr(std::net::SocketAddr::new(
                    ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                    1,
                ))
                .to_http_request();
            client_address(&req, None)
        };
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
    }
}
