//! OpenGraph provider for notion-unfurl: a preview of any web page from the metadata the
//! page publishes about itself.
//!
//! - Site: any. Pattern: every `http`/`https` URL ([`URL_PATTERN`], named groups `host`
//!   and `path`), registered with no fixed domain, so the operator chooses which domains to
//!   verify in Notion. It belongs last in the registry: specific providers come first.
//! - Upstream: the page itself, read through the SDK's guarded client up to `</head>` when
//!   the head names the date and author ([`head_is_enough`]), else on within the fetch
//!   cap; and, when the page declares no player, its oEmbed endpoint through the same
//!   client ([`oembed`]). The bytes read are reported with the preview
//!   (`Preview::bytes_read`). Metadata comes from OpenGraph (`og:*`), Twitter cards,
//!   JSON-LD (schema.org), microdata, Dublin Core and plain HTML (`<title>`,
//!   `<meta name=description>`, `<link rel=icon>`, `<html lang>`, `<time>`); the table in
//!   [`extract`](mod@extract) says which source fills which field.
//! - Attributes: `title` (the host when the page has none), `description`, `site`,
//!   `image`, `icon`, `author`, `published` (the server adds `dev`), and `embed` with a
//!   player when the page declares one (`og:video`, `twitter:player`) or, lacking that,
//!   its oEmbed endpoint answers with one (which then replaces `image`); anything Notion would
//!   refuse (empty text, `http:` images) is left out. Previews are [`CacheScope::Public`] for
//!   [`CACHE_TTL`].
//! - Files: images, video, audio and PDF are embedded directly (`embed`), titled by file
//!   name; other types (archives, JSON) get a preview titled by file name or host rather
//!   than an error, since the link itself is fine. Status codes map to errors as
//!   [`classify`] documents.
//!
//! Layout:
//! - [`charset`]: bytes to text (BOM, `Content-Type`, `<meta>` prescan, UTF-8 default).
//! - [`extract`](mod@extract): HTML to [`PageMetadata`], pure and synchronous.
//! - [`media`]: which responses are media Notion can embed, and file names.
//! - [`oembed`]: a page's oEmbed answer to the player Notion embeds.
//! - [`report`]: the JSON report of `notion-unfurl extract` (fields, sources, `--explain`).
//! - `provider`: [`OpenGraph`], the status mapping ([`classify`]) and [`attributes`].
//!
//! [`CacheScope::Public`]: notion_unfurl_sdk::CacheScope::Public

pub mod charset;
pub mod extract;
pub mod media;
pub mod oembed;
mod provider;
pub mod report;

pub use extract::PageMetadata;
pub use provider::{CACHE_TTL, OpenGraph, URL_PATTERN, attributes, classify, head_is_enough};

use notion_unfurl_sdk::Url;

/// Decode `html` (see [`charset`]) and read its metadata. `final_url` is the address the
/// page was served from, after redirects: the base for relative URLs.
pub fn extract(html: &[u8], content_type: Option<&str>, final_url: &Url) -> PageMetadata {
    extract::from_html(&charset::decode(html, content_type), final_url)
}
