//! The few server-rendered HTML pages (consent and errors). No JavaScript, no third-party
//! assets, never framed, no referrer, never cached.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use html_escape::{encode_double_quoted_attribute, encode_text};

const STYLE: &str = "body{font:16px/1.5 system-ui,-apple-system,sans-serif;background:#f7f6f3;\
color:#37352f;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}\
main{background:#fff;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:32px;\
max-width:440px;margin:16px}h1{font-size:22px;margin:0 0 12px}p{margin:0 0 16px}\
.actions{display:flex;gap:12px;margin-top:24px}button{font:inherit;padding:8px 20px;\
border-radius:6px;border:1px solid #d3d1cb;background:#fff;cursor:pointer}\
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

/// An error the user can act on; nothing internal.
pub fn error(status: StatusCode, message: &str) -> HttpResponse {
    let body = format!(
        "<h1>This connection could not be completed</h1><p>{}</p>\
         <p class=\"muted\">You can close this page and connect again from Notion.</p>",
        encode_text(message)
    );
    page(status, "Connection failed", &body)
}
