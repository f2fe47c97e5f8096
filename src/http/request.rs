//! What every handler reads from a request the same way: the bearer token, the body
//! (bounded while it is read), and the client's address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

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

/// Why a request body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Declared or found to be over the limit (reading stops there).
    TooLarge,
    /// The connection failed while the body was read.
    Unreadable,
}

/// The request body, read as a stream and refused as soon as it passes `limit` bytes.
pub async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    // Reserve for what is declared only up to a small bound: an unauthenticated caller
    // must send the bytes before it can make us hold them.
    let mut body = Vec::with_capacity(declared.unwrap_or(256).min(limit).min(64 * 1024));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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
    use super::*;

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
