//! Which image URLs can stand for a page: not a tracking pixel, spacer or sprite, not on
//! a private address (the preview would make every viewer's browser ask it), and a logo
//! only when the page offers no content image.

use notion_unfurl_sdk::Url;
use notion_unfurl_sdk::url::Host;

/// Path words of images that are never content.
const NOT_CONTENT: [&str; 7] = [
    "pixel",
    "spacer",
    "sprite",
    "1x1",
    "blank.gif",
    "transparent.gif",
    "/emoji/",
];

/// Whether `url` may be a preview image at all.
pub(super) fn usable(url: &Url) -> bool {
    let public_host = match url.host() {
        Some(Host::Domain(_)) => true,
        Some(Host::Ipv4(ip)) => notion_unfurl_sdk::ip::is_public(ip.into()),
        Some(Host::Ipv6(ip)) => notion_unfurl_sdk::ip::is_public(ip.into()),
        None => false,
    };
    let path = url.path().to_ascii_lowercase();
    public_host && !NOT_CONTENT.iter().any(|w| path.contains(w))
}

/// Whether `url` names a logo or an avatar rather than a picture of the content.
pub(super) fn is_logo(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    ["logo", "favicon", "avatar"]
        .iter()
        .any(|w| path.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::test_support::{extract, extract_body, s, url};

    #[test]
    fn pixels_private_addresses_and_sprites_are_not_images() {
        for bad in [
            "https://t.example.com/pixel.gif?id=1",
            "https://10.0.0.5/cover.jpg",
            "https://[fd00::1]/cover.jpg",
            "https://127.0.0.1/cover.jpg",
            "https://cdn.example.com/img/sprite-2x.png",
        ] {
            assert!(!usable(&url(bad)), "{bad}");
        }
        assert!(usable(&url("https://93.184.216.34/cover.jpg")));
        let meta = extract(
            r#"<meta property="og:image" content="https://192.168.1.10/a.jpg">
               <meta name="twitter:image" content="https://cdn.example.com/b.jpg">"#,
        );
        assert_eq!(s(&meta.image), Some("https://cdn.example.com/b.jpg"));
    }

    #[test]
    fn a_logo_gives_way_to_a_content_image() {
        let html = r#"<html><head>
            <meta property="og:image" content="https://cdn.example.com/company-logo_200.png">
            </head><body><video poster="https://cdn.example.com/cover-high.jpg"></video></body></html>"#;
        let meta = crate::extract::from_html(html, &url("https://example.com/"));
        assert_eq!(
            s(&meta.image),
            Some("https://cdn.example.com/cover-high.jpg")
        );
        let only_logo =
            extract(r#"<meta property="og:image" content="https://cdn.example.com/logo.png">"#);
        assert_eq!(
            s(&only_logo.image),
            Some("https://cdn.example.com/logo.png")
        );
    }

    #[test]
    fn the_first_content_img_of_the_body_is_the_last_resort() {
        let meta = extract_body(
            r#"<img src="/static/logo.svg"><img src="data:image/gif;base64,R0lGOD">
               <img src="/static/pixel.gif"><img src="/media/photo.jpg"><img src="/media/second.jpg">"#,
        );
        assert_eq!(
            s(&meta.image),
            Some("https://www.example.com/media/photo.jpg")
        );
    }
}
