//! The error body of our own JSON endpoints (`/unfurl`, `/webhooks/*`):
//! `{"error": "<code>", "message": "<sentence>"}`. The OAuth endpoints speak RFC 6749's
//! shape instead (`error_description`), as Notion expects of an OAuth server.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ErrorJson<'a> {
    /// A stable machine-readable code (`invalid_request`, `invalid_token`, …).
    pub error: &'a str,
    /// A sentence for the person reading the response; never internal detail.
    pub message: String,
}
