//! What a response holds, from its `Content-Type` or, failing that, its URL: an HTML page
//! to read, media Notion can embed directly, or something we cannot read.

use notion_unfurl_sdk::Url;
use notion_unfurl_sdk::attributes::MediaKind;

/// What kind of resource a URL answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A page to read metadata from (also the guess when nothing is declared).
    Html,
    /// A file Notion can show in its `embed` area.
    Media(MediaKind),
    /// Anything else (an archive, JSON, plain text): previewed by its name only.
    Other,
}

/// Classify a response by its `Content-Type`; when that is missing or only says "bytes"
/// (`application/octet-stream`, common for files on object storage), by the extension of
/// the URL's path.
pub fn classify(content_type: Option<&str>, url: &Url) -> Resource {
    let essence = content_type
        .and_then(|ct| ct.trim().parse::<mime::Mime>().ok())
        .map(|m| m.essence_str().to_ascii_lowercase());
    match essence.as_deref() {
        None | Some("application/octet-stream" | "binary/octet-stream") => by_extension(url)
            .unwrap_or(if essence.is_none() {
                Resource::Html
            } else {
                Resource::Other
            }),
        Some(essence) => by_mime(essence),
    }
}

fn by_mime(essence: &str) -> Resource {
    match essence.split_once('/') {
        Some(("text", "html")) | Some(("application", "xhtml+xml")) => Resource::Html,
        Some(("image", _)) => Resource::Media(MediaKind::Image),
        Some(("video", _)) => Resource::Media(MediaKind::Video),
        Some(("audio", _)) => Resource::Media(MediaKind::Audio),
        Some(("application", "pdf")) => Resource::Media(MediaKind::Pdf),
        _ => Resource::Other,
    }
}

fn by_extension(url: &Url) -> Option<Resource> {
    let name = file_name(url)?;
    let (_, extension) = name.rsplit_once('.')?;
    let kind = match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" | "xhtml" | "php" | "asp" | "aspx" | "jsp" => return Some(Resource::Html),
        "jpg" | "jpeg" | "png" | "gif" | "webp" | "avif" | "svg" | "bmp" | "ico" | "tif"
        | "tiff" | "heic" => MediaKind::Image,
        "mp4" | "m4v" | "webm" | "mov" | "ogv" | "mkv" => MediaKind::Video,
        "mp3" | "m4a" | "aac" | "wav" | "ogg" | "oga" | "opus" | "flac" => MediaKind::Audio,
        "pdf" => MediaKind::Pdf,
        _ => return None,
    };
    Some(Resource::Media(kind))
}

/// The last non-empty path segment, percent-decoded: what a user would call the file's name.
pub fn file_name(url: &Url) -> Option<String> {
    let segment = url.path_segments()?.rev().find(|s| !s.is_empty())?;
    let name = percent_decode(segment);
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn content_type_decides_when_it_is_specific() {
        let u = url("https://x.test/download");
        assert_eq!(
            classify(Some("text/html; charset=utf-8"), &u),
            Resource::Html
        );
        assert_eq!(classify(Some("application/xhtml+xml"), &u), Resource::Html);
        assert_eq!(
            classify(Some("IMAGE/PNG"), &u),
            Resource::Media(MediaKind::Image)
        );
        assert_eq!(
            classify(Some("video/mp4"), &u),
            Resource::Media(MediaKind::Video)
        );
        assert_eq!(
            classify(Some("audio/mpeg"), &u),
            Resource::Media(MediaKind::Audio)
        );
        assert_eq!(
            classify(Some("application/pdf"), &u),
            Resource::Media(MediaKind::Pdf)
        );
        assert_eq!(classify(Some("application/zip"), &u), Resource::Other);
        // The header wins over a misleading extension.
        assert_eq!(
            classify(Some("text/html"), &url("https://x.test/a.png")),
            Resource::Html
        );
    }

    #[test]
    fn extension_decides_when_the_type_is_missing_or_generic() {
        assert_eq!(
            classify(
                Some("application/octet-stream"),
                &url("https://x.test/Report.PDF")
            ),
            Resource::Media(MediaKind::Pdf)
        );
        assert_eq!(
            classify(None, &url("https://x.test/clip.webm?dl=1")),
            Resource::Media(MediaKind::Video)
        );
        assert_eq!(
            classify(
                Some("application/octet-stream"),
                &url("https://x.test/a.zip")
            ),
            Resource::Other
        );
        assert_eq!(classify(None, &url("https://x.test/docs/")), Resource::Html);
        assert_eq!(
            classify(Some("not a mime"), &url("https://x.test/a.mp3")),
            { Resource::Media(MediaKind::Audio) }
        );
    }

    #[test]
    fn file_name_is_the_decoded_last_segment() {
        assert_eq!(
            file_name(&url("https://x.test/files/Annual%20Report%C3%A9.pdf?x=1")).as_deref(),
            Some("Annual Reporté.pdf")
        );
        assert_eq!(
            file_name(&url("https://x.test/dir/")).as_deref(),
            Some("dir")
        );
        assert_eq!(file_name(&url("https://x.test/")), None);
        assert_eq!(
            file_name(&url("https://x.test/100%25-bad%zz")).as_deref(),
            Some("100%-bad%zz")
        );
    }
}
