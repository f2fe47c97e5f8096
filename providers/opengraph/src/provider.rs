//! The [`Provider`] implementation: fetch, classify, extract, build attributes.

use std::time::Duration;

use notion_unfurl_sdk::attributes::{DateSection, ImageSection, MediaKind, TextSection};
use notion_unfurl_sdk::fetch::BodyMode;
use notion_unfurl_sdk::regex::Regex;
use notion_unfurl_sdk::{
    Attribute, Context, Pattern, Preview, Provider, ProviderError, UnfurlRequest, Url, async_trait,
};

use crate::extract::name_key;
use crate::extract::{PageMetadata, PlayerKind};
use crate::media::{self, Resource};
use crate::oembed::{self, Embed};

/// How long a preview may be served from the cache: pages change, but not by the minute.
pub const CACHE_TTL: Duration = Duration::from_secs(60 * 60);

/// Any http(s) URL without userinfo, the host a name or an IP address (IPv6 in brackets);
/// the host and the rest are named for Notion's placeholder.
pub const URL_PATTERN: &str =
    r"^https?://(?<host>\[[0-9A-Fa-f:.]+\]|[^/?#:@\[\]]+)(?::\d+)?(?<path>[/?#].*)?$";

/// Title when a URL somehow has no host; Notion requires some title.
const UNTITLED: &str = "Untitled page";

/// Previews of any web page from its own metadata.
#[derive(Debug, Clone)]
pub struct OpenGraph {
    patterns: Vec<Pattern>,
}

impl OpenGraph {
    pub fn new() -> Self {
        // The pattern is a constant covered by a unit test; should it ever fail to compile,
        // the provider matches nothing rather than taking the server down.
        let patterns = Regex::new(URL_PATTERN)
            .ok()
            .map(|regex| Pattern {
                domain: None,
                regex,
                dashboard: None,
                samples: vec![
                    "https://www.rust-lang.org/".to_owned(),
                    "https://en.wikipedia.org/wiki/Notion_(productivity_software)".to_owned(),
                ],
                placeholder: Attribute::title("title", "Title", "$<host>")
                    .into_iter()
                    .collect(),
            })
            .into_iter()
            .collect();
        Self { patterns }
    }
}

impl Default for OpenGraph {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Provider for OpenGraph {
    fn id(&self) -> &'static str {
        "opengraph"
    }

    fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// A public page looks the same to every account.
    fn reads_account(&self) -> bool {
        false
    }

    // Dead links and refusing sites are everyday events for this provider, not faults.
    #[tracing::instrument(skip_all, fields(host = request.url.host_str()), err(level = "warn"))]
    async fn unfurl(
        &self,
        request: &UnfurlRequest,
        ctx: &Context,
    ) -> Result<Preview, ProviderError> {
        let fetched = ctx
            .guarded
            .get(&request.url, BodyMode::HtmlHeadIf(head_is_enough))
            .await?;
        let resource = classify(
            fetched.status,
            fetched.content_type.as_deref(),
            &fetched.final_url,
        )?;
        let mut bytes_read = fetched.body.len();
        let attributes = match resource {
            Resource::Html => {
                let meta = crate::extract(
                    &fetched.body,
                    fetched.content_type.as_deref(),
                    &fetched.final_url,
                );
                let (embed, oembed_bytes) = match (declared_embed(&meta), &meta.oembed) {
                    (Some(embed), _) => (Some(embed), 0),
                    (None, Some(endpoint)) => oembed::fetch(ctx, endpoint).await,
                    (None, None) => (None, 0),
                };
                bytes_read += oembed_bytes;
                with_embed(attributes(&meta), embed)
            }
            Resource::Media(kind) => file_attributes(&fetched.final_url, Some(kind)),
            Resource::Other => file_attributes(&fetched.final_url, None),
        };
        Ok(Preview::new(attributes)
            .public()
            .ttl(CACHE_TTL)
            .bytes_read(bytes_read as u64))
    }
}

/// Whether a page's `<head>` alone is likely to hold its metadata.
///
/// Many news sites declare the title and image in the head but put the JSON-LD with the
/// author and publication date in the body: on the corpus, stopping at `</head>`
/// regardless loses about a tenth of dates and authors. So reading stops at `</head>` only
/// when the head already names a publication date and an author; other pages are read on,
/// within the fetcher's byte cap.
pub fn head_is_enough(head: &[u8]) -> bool {
    let has = |needle: &[u8]| {
        head.windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
    };
    (has(b"published_time") || has(b"datepublished")) && has(b"author")
}

/// What to do with a response, from its status and type.
///
/// - 2xx: read it by its type ([`media::classify`]). Only a 200 carries a body; another
///   2xx yields a preview from the URL alone.
/// - 404, 410: `NotFound`.
/// - 401, 403: `Forbidden` with a hint: the *site* refuses our fetcher (a login wall, bot
///   protection). It is not about the Notion user's account, which the default sentence
///   would suggest.
/// - 429: `RateLimited` (the fetcher does not expose `Retry-After`).
/// - 451 and other 4xx: `NotFound` with a hint naming the status: the site will not
///   serve this page to us and retrying will not change that.
/// - 3xx (a redirect the fetcher could not follow), 5xx and anything else:
///   `Upstream { status }`, which the server treats as transient.
pub fn classify(
    status: u16,
    content_type: Option<&str>,
    url: &Url,
) -> Result<Resource, ProviderError> {
    match status {
        200..=299 => Ok(media::classify(content_type, url)),
        404 | 410 => Err(ProviderError::NotFound { hint: None }),
        401 | 403 => Err(ProviderError::Forbidden {
            hint: Some("The site refused to show this page to the link preview service.".into()),
        }),
        429 => Err(ProviderError::RateLimited {
            retry_after: None,
            hint: None,
        }),
        400..=499 => Err(ProviderError::NotFound {
            hint: Some(format!("The site answered HTTP {status} for this link.")),
        }),
        _ => Err(ProviderError::Upstream {
            status: Some(status),
        }),
    }
}

/// The attributes of an HTML page's preview. Values that are missing, empty or not
/// allowed (an `http:` image) are left out; the title falls back to the host.
pub fn attributes(meta: &PageMetadata) -> Vec<Attribute> {
    let title = meta
        .title
        .as_deref()
        .or(meta.host.as_deref())
        .unwrap_or(UNTITLED);
    let site = meta.site_name.as_deref().or(meta.host.as_deref());
    [
        Attribute::title("title", "Title", title).ok(),
        meta.description.as_deref().and_then(|d| {
            let d = crate::extract::truncate(d, crate::extract::SUMMARY_MAX_CHARS);
            Attribute::plain_text("description", "Description", d, TextSection::Body).ok()
        }),
        site.and_then(|s| Attribute::plain_text("site", "Site", s, TextSection::Identifier).ok()),
        meta.image
            .as_ref()
            .and_then(|u| Attribute::image("image", "Image", u, ImageSection::Embed).ok()),
        meta.icon
            .as_ref()
            .and_then(|u| Attribute::image("icon", "Icon", u, ImageSection::Entity).ok()),
        // An author that only repeats the site ("Salzburger Nachrichten" twice) says nothing.
        meta.author
            .as_deref()
            .filter(|a| site.is_none_or(|s| name_key(a) != name_key(s)))
            .and_then(|a| Attribute::plain_text("author", "Author", a, TextSection::Primary).ok()),
        meta.published.and_then(|p| {
            Attribute::datetime(
                "published",
                "Published",
                p.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                DateSection::Secondary,
            )
            .ok()
        }),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The player the page's own metadata declares.
fn declared_embed(meta: &PageMetadata) -> Option<Embed> {
    let player = meta.player.as_ref()?;
    let kind = match player.kind {
        PlayerKind::Html => MediaKind::Html,
        PlayerKind::Video => MediaKind::Video,
    };
    Some(Embed {
        url: player.url.clone(),
        kind,
    })
}

/// `attributes` with `embed` in the large media area, where it takes the image's place.
fn with_embed(mut attributes: Vec<Attribute>, embed: Option<Embed>) -> Vec<Attribute> {
    let Some(embed) = embed.and_then(|e| Attribute::embed("embed", "Embed", &e.url, e.kind).ok())
    else {
        return attributes;
    };
    attributes.retain(|a| a.id() != "image");
    attributes.push(embed);
    attributes
}

/// A preview from the URL alone: a file we embed (`kind`) or cannot read (`None`).
fn file_attributes(url: &Url, kind: Option<MediaKind>) -> Vec<Attribute> {
    let host = url
        .host_str()
        .map(|h| h.strip_prefix("www.").unwrap_or(h).to_owned());
    let title = media::file_name(url)
        .or_else(|| host.clone())
        .unwrap_or_else(|| UNTITLED.to_owned());
    [
        Attribute::title("title", "Title", title).ok(),
        host.and_then(|h| Attribute::plain_text("site", "Site", h, TextSection::Identifier).ok()),
        kind.and_then(|k| Attribute::embed("embed", "Embed", url, k).ok()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use notion_unfurl_sdk::attributes::has_title;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn ids(attributes: &[Attribute]) -> Vec<&str> {
        attributes.iter().map(Attribute::id).collect()
    }

    #[test]
    fn the_pattern_matches_any_http_url_with_named_groups() {
        let provider = OpenGraph::new();
        assert_eq!(provider.id(), "opengraph");
        let [pattern] = provider.patterns() else {
            panic!("one pattern expected");
        };
        assert_eq!(pattern.domain, None);
        let caps = pattern
            .captures("https://www.example.com:8443/a/b?c=d#e")
            .unwrap_or_default();
        assert_eq!(
            caps.get("host").map(String::as_str),
            Some("www.example.com")
        );
        assert_eq!(caps.get("path").map(String::as_str), Some("/a/b?c=d#e"));
        assert!(pattern.captures("http://example.com").is_some());
        let v6 = pattern
            .captures("http://[2001:db8::1]:8080/x")
            .unwrap_or_default();
        assert_eq!(v6.get("host").map(String::as_str), Some("[2001:db8::1]"));
        for sample in &pattern.samples {
            assert!(pattern.captures(sample).is_some(), "{sample}");
        }
        for other in [
            "ftp://example.com/",
            "mailto:a@b.c",
            "https://user@example.com/",
            " https://x.test/",
        ] {
            assert!(pattern.captures(other).is_none(), "{other}");
        }
        assert_eq!(ids(&pattern.placeholder), ["title"]);
    }

    #[test]
    fn statuses_map_to_provider_errors() {
        let u = url("https://x.test/page");
        let html = Some("text/html");
        assert_eq!(classify(200, html, &u), Ok(Resource::Html));
        assert_eq!(classify(203, html, &u), Ok(Resource::Html));
        assert_eq!(
            classify(404, html, &u),
            Err(ProviderError::NotFound { hint: None })
        );
        assert_eq!(
            classify(410, None, &u),
            Err(ProviderError::NotFound { hint: None })
        );
        assert!(matches!(
            classify(401, html, &u),
            Err(ProviderError::Forbidden { hint: Some(_) })
        ));
        assert!(matches!(
            classify(403, html, &u),
            Err(ProviderError::Forbidden { hint: Some(_) })
        ));
        assert_eq!(
            classify(429, html, &u),
            Err(ProviderError::RateLimited {
                retry_after: None,
                hint: None
            })
        );
        assert!(
            matches!(classify(400, html, &u), Err(ProviderError::NotFound { hint: Some(h) }) if h.contains("400"))
        );
        assert!(matches!(
            classify(451, html, &u),
            Err(ProviderError::NotFound { hint: Some(_) })
        ));
        assert_eq!(
            classify(500, html, &u),
            Err(ProviderError::Upstream { status: Some(500) })
        );
        assert_eq!(
            classify(503, html, &u),
            Err(ProviderError::Upstream { status: Some(503) })
        );
        assert_eq!(
            classify(304, html, &u),
            Err(ProviderError::Upstream { status: Some(304) })
        );
    }

    #[test]
    fn media_responses_become_embeds_named_after_the_file() {
        let u = url("https://cdn.x.test/media/My%20Clip.mp4");
        let Ok(Resource::Media(kind)) = classify(200, Some("video/mp4"), &u) else {
            panic!("video expected");
        };
        let attributes = file_attributes(&u, Some(kind));
        assert_eq!(ids(&attributes), ["title", "site", "embed"]);
        assert_eq!(attributes[0].text(), Some("My Clip.mp4"));
        assert_eq!(attributes[1].text(), Some("cdn.x.test"));
        assert_eq!(
            attributes[2].text(),
            Some("https://cdn.x.test/media/My%20Clip.mp4")
        );
        assert!(has_title(&attributes));
    }

    #[test]
    fn plain_http_media_and_unreadable_files_get_a_title_only() {
        let http = url("http://www.x.test/");
        let attributes = file_attributes(&http, Some(MediaKind::Image));
        assert_eq!(ids(&attributes), ["title", "site"]);
        assert_eq!(attributes[0].text(), Some("x.test"));

        let zip = url("https://x.test/dl/archive.zip");
        assert_eq!(
            classify(200, Some("application/zip"), &zip),
            Ok(Resource::Other)
        );
        let attributes = file_attributes(&zip, None);
        assert_eq!(ids(&attributes), ["title", "site"]);
        assert_eq!(attributes[0].text(), Some("archive.zip"));
    }

    #[test]
    fn page_attributes_keep_their_ids_and_drop_what_notion_refuses() {
        let meta = PageMetadata {
            title: Some("A title".into()),
            description: Some("Words.".into()),
            site_name: None,
            image: Some(url("http://x.test/plain-http.png")),
            icon: Some(url("https://x.test/favicon.ico")),
            author: Some("Ada".into()),
            published: crate::extract::parse_date("2024-03-09T10:00:00Z"),
            url: None,
            host: Some("x.test".into()),
            ..PageMetadata::default()
        };
        let attributes = attributes(&meta);
        assert_eq!(
            ids(&attributes),
            [
                "title",
                "description",
                "site",
                "icon",
                "author",
                "published"
            ]
        );
        assert_eq!(attributes[2].text(), Some("x.test"));
        assert_eq!(attributes[5].text(), Some("2024-03-09T10:00:00Z"));
        assert!(has_title(&attributes));
    }

    #[test]
    fn an_author_repeating_the_site_name_is_left_out() {
        let meta = PageMetadata {
            title: Some("News".into()),
            site_name: Some("Salzburger Nachrichten".into()),
            author: Some("SALZBURGER  nachrichten".into()),
            host: Some("sn.at".into()),
            ..PageMetadata::default()
        };
        assert_eq!(ids(&attributes(&meta)), ["title", "site"]);
    }

    #[test]
    fn a_page_without_a_title_is_titled_by_its_host() {
        let meta = PageMetadata {
            host: Some("example.com".into()),
            ..PageMetadata::default()
        };
        let attributes = attributes(&meta);
        assert_eq!(ids(&attributes), ["title", "site"]);
        assert_eq!(attributes[0].text(), Some("example.com"));
        let empty = super::attributes(&PageMetadata::default());
        assert_eq!(empty[0].text(), Some(UNTITLED));
    }
}
