//! Turning fetched bytes into text.
//!
//! The order follows the HTML standard's encoding sniffing, simplified for a reader that
//! already holds the bytes: a byte order mark, then the `charset` parameter of
//! `Content-Type`, then a `<meta>` declaration near the start, then UTF-8.
//!
//! Two deliberate departures from the standard:
//! - The default is UTF-8, not windows-1252: browsers keep windows-1252 for pages of the
//!   1990s, but an undeclared page today is overwhelmingly UTF-8.
//! - A declared legacy charset loses to UTF-8 when the bytes are valid UTF-8 and contain
//!   non-ASCII text. Text really written in a single-byte or CJK legacy encoding is
//!   practically never valid UTF-8, while UTF-8 pages labelled ISO-8859-1 (server defaults,
//!   copied templates) are common; browsers cannot revisit a decision mid-stream, we can.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How far into the document the `<meta>` prescan looks. The standard says 1024 bytes
/// because a browser must decide before rendering; with the bytes in hand a wider window
/// is cheap, and real pages often put their `<meta charset>` after kilobytes of scripts.
const PRESCAN_BYTES: usize = 32 * 1024;

/// Where the chosen encoding came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    ByteOrderMark,
    ContentType,
    Meta,
    /// Declared as a legacy charset, but the bytes are valid UTF-8.
    Utf8Bytes,
    Default,
}

/// The encoding to decode `bytes` with, and why.
pub fn sniff(bytes: &[u8], content_type: Option<&str>) -> (&'static Encoding, Source) {
    if let Some((encoding, _)) = Encoding::for_bom(bytes) {
        return (encoding, Source::ByteOrderMark);
    }
    let declared = content_type
        .and_then(charset_param)
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .map(|e| (e, Source::ContentType))
        .or_else(|| prescan(bytes).map(|e| (e, Source::Meta)));
    match declared {
        Some((encoding, source)) => {
            if encoding != UTF_8 && encoding.is_ascii_compatible() && is_non_ascii_utf8(bytes) {
                (UTF_8, Source::Utf8Bytes)
            } else {
                (encoding, source)
            }
        }
        None => (UTF_8, Source::Default),
    }
}

/// Decode `bytes` to text, replacing what cannot be decoded; never fails.
pub fn decode<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let (encoding, _) = sniff(bytes, content_type);
    let (text, _, _) = encoding.decode(bytes);
    text
}

fn charset_param(content_type: &str) -> Option<String> {
    let mime: mime::Mime = content_type.trim().parse().ok()?;
    mime.get_param(mime::CHARSET)
        .map(|v| v.as_str().trim().to_owned())
}

/// Valid UTF-8 holding at least one multi-byte sequence. A sequence cut off by the end of
/// the buffer counts as valid: the fetcher may stop reading mid-character.
fn is_non_ascii_utf8(bytes: &[u8]) -> bool {
    if bytes.is_ascii() {
        return false;
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// The charset a `<meta charset>` or `<meta http-equiv="Content-Type" content="…">` in the
/// first [`PRESCAN_BYTES`] declares. A byte scan, not a parser: it does not skip comments
/// and takes the first declaration it can read.
fn prescan(bytes: &[u8]) -> Option<&'static Encoding> {
    let window = &bytes[..bytes.len().min(PRESCAN_BYTES)];
    let mut at = 0;
    while let Some(start) = find_ci(&window[at..], b"<meta") {
        let tag_start = at + start + b"<meta".len();
        let tag_len = window[tag_start..]
            .iter()
            .position(|&b| b == b'>')
            .unwrap_or(window.len() - tag_start);
        let tag = &window[tag_start..tag_start + tag_len];
        if let Some(encoding) = charset_in_tag(tag) {
            // The standard's prescan maps UTF-16 to UTF-8: a document whose ASCII `<meta>`
            // could be read this way is not UTF-16.
            if encoding == encoding_rs::UTF_16BE || encoding == encoding_rs::UTF_16LE {
                return Some(UTF_8);
            }
            if encoding == encoding_rs::X_USER_DEFINED {
                return Some(WINDOWS_1252);
            }
            return Some(encoding);
        }
        at = tag_start + tag_len;
    }
    None
}

fn charset_in_tag(tag: &[u8]) -> Option<&'static Encoding> {
    let mut at = 0;
    while let Some(found) = find_ci(&tag[at..], b"charset") {
        let mut i = at + found + b"charset".len();
        at = i;
        while tag.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if tag.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while tag
            .get(i)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'"' || *b == b'\'')
        {
            i += 1;
        }
        let len = tag[i..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b';' | b'/'))
            .unwrap_or(tag.len() - i);
        if let Some(encoding) = Encoding::for_label(&tag[i..i + len]) {
            return Some(encoding);
        }
    }
    None
}

fn find_ci(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(head: &str, body: &[u8]) -> Vec<u8> {
        let mut bytes = format!("<!doctype html><html><head>{head}</head><body><p>").into_bytes();
        bytes.extend_from_slice(body);
        bytes.extend_from_slice(b"</p></body></html>");
        bytes
    }

    #[test]
    fn latin1_from_content_type_is_decoded() {
        let bytes = page("", b"caf\xe9 cr\xe8me");
        let text = decode(&bytes, Some("text/html; charset=ISO-8859-1"));
        assert!(text.contains("café crème"), "{text}");
    }

    #[test]
    fn quoted_charset_parameter_is_understood() {
        let bytes = page("", b"caf\xe9");
        let text = decode(&bytes, Some("text/html;charset=\"latin1\""));
        assert!(text.contains("café"), "{text}");
    }

    #[test]
    fn windows_1252_from_meta_charset_decodes_curly_quotes() {
        let bytes = page(r#"<meta charset="windows-1252">"#, b"\x93Caf\xe9\x94");
        let (encoding, source) = sniff(&bytes, Some("text/html"));
        assert_eq!((encoding, source), (WINDOWS_1252, Source::Meta));
        assert!(decode(&bytes, None).contains("\u{201c}Café\u{201d}"));
    }

    #[test]
    fn shift_jis_from_http_equiv_is_decoded() {
        let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode("日本語のニュース");
        assert!(!unmappable);
        let bytes = page(
            r#"<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">"#,
            &sjis,
        );
        let (encoding, source) = sniff(&bytes, None);
        assert_eq!((encoding, source), (encoding_rs::SHIFT_JIS, Source::Meta));
        assert!(decode(&bytes, None).contains("日本語のニュース"));
    }

    #[test]
    fn utf8_bom_overrides_meta() {
        let mut bytes = b"\xef\xbb\xbf".to_vec();
        bytes.extend(page(r#"<meta charset="iso-8859-1">"#, "café".as_bytes()));
        assert_eq!(sniff(&bytes, None), (UTF_8, Source::ByteOrderMark));
        let text = decode(&bytes, None);
        assert!(text.contains("café"));
        assert!(!text.starts_with('\u{feff}'));
    }

    #[test]
    fn content_type_overrides_meta() {
        let bytes = page(r#"<meta charset="shift_jis">"#, b"caf\xe9");
        let (encoding, source) = sniff(&bytes, Some("text/html; charset=iso-8859-1"));
        assert_eq!(source, Source::ContentType);
        assert_eq!(
            encoding, WINDOWS_1252,
            "the standard reads latin1 as windows-1252"
        );
        assert!(decode(&bytes, Some("text/html; charset=iso-8859-1")).contains("café"));
    }

    #[test]
    fn utf8_bytes_mislabelled_as_latin1_stay_utf8() {
        let bytes = page(
            r#"<meta charset="iso-8859-1">"#,
            "Größe – “quoted”".as_bytes(),
        );
        assert_eq!(sniff(&bytes, None), (UTF_8, Source::Utf8Bytes));
        assert!(decode(&bytes, None).contains("Größe – “quoted”"));
    }

    #[test]
    fn utf8_cut_mid_character_still_counts_as_utf8() {
        let mut bytes = page(r#"<meta charset="windows-1251">"#, "Привет".as_bytes());
        bytes.truncate(bytes.len() - b"</p></body></html>".len() - 1);
        assert_eq!(sniff(&bytes, None).0, UTF_8);
    }

    #[test]
    fn undeclared_pages_default_to_utf8() {
        let bytes = page("<title>x</title>", "naïve".as_bytes());
        assert_eq!(sniff(&bytes, None), (UTF_8, Source::Default));
        // Invalid bytes are replaced instead of failing.
        assert!(decode(b"<p>\xff</p>", None).contains('\u{fffd}'));
    }

    #[test]
    fn meta_utf16_means_utf8_and_unknown_labels_are_ignored() {
        assert_eq!(prescan(br#"<meta charset="utf-16le">"#), Some(UTF_8));
        assert_eq!(prescan(br#"<meta charset="no-such-charset">"#), None);
        assert_eq!(
            prescan(b"<META CONTENT='text/html; CHARSET = koi8-r' HTTP-EQUIV='content-type'>"),
            Some(encoding_rs::KOI8_R)
        );
    }
}
