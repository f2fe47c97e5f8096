//! Whitespace and length rules shared by every text field, so that a title read from
//! `og:title` and one read from JSON-LD come out the same way.

/// Whitespace runs collapsed to one space, trimmed; `None` when nothing is left. Numeric
/// character references left in the text (`&#8217;`, from pages that escape twice) are
/// decoded: nobody means them literally.
pub(super) fn clean_text(raw: &str) -> Option<String> {
    let decoded;
    let raw = if raw.contains("&#") {
        decoded = decode_numeric_references(raw);
        decoded.as_str()
    } else {
        raw
    };
    let mut out = String::with_capacity(raw.len());
    for word in raw.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    (!out.is_empty()).then_some(out)
}

fn decode_numeric_references(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let decoded = tail.find(';').filter(|&end| end <= 8).and_then(|end| {
            let digits = &tail[..end];
            let code = match digits.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => digits.parse().ok()?,
            };
            Some((char::from_u32(code).filter(|c| !c.is_control())?, end + 1))
        });
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &tail[used..];
            }
            None => {
                out.push_str("&#");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// At most `max` characters, cut at a word boundary when one is near, with an ellipsis.
pub fn truncate(text: &str, max: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return text.to_owned();
    };
    let head = &text[..cut];
    let head = match head.rfind(' ') {
        Some(space) if head[..space].chars().count() + 40 >= max => &head[..space],
        _ => head,
    };
    let head = head.trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c));
    format!("{head}…")
}

/// Separators pages put between a headline and the site's name.
/// Fullwidth forms go without spaces, as CJK titles write them.
const SITE_SEPARATORS: [&str; 11] = [
    " | ", " - ", " – ", " — ", " · ", " :: ", " » ", " • ", " / ", "｜", "：",
];

/// Most words a site part may have; more is a second half of the headline.
const SITE_PART_MAX_WORDS: usize = 5;

/// The ways `title` splits into (headline, site part): the trailing part first, then a
/// leading one ("Site - Headline").
pub(super) fn split_site_parts(title: &str) -> impl Iterator<Item = (String, String)> + '_ {
    let short = |part: &str| {
        let words = part.split_whitespace().count();
        (1..=SITE_PART_MAX_WORDS).contains(&words)
    };
    let trailing = SITE_SEPARATORS
        .iter()
        .filter_map(|sep| title.rfind(sep).map(|at| (at, sep.len())))
        .max_by_key(|(at, _)| *at)
        .and_then(|(at, len)| {
            let (head, site) = (title[..at].trim(), title[at + len..].trim());
            (short(site) && !head.is_empty()).then(|| (head.to_owned(), site.to_owned()))
        });
    let leading = SITE_SEPARATORS
        .iter()
        .filter_map(|sep| title.find(sep).map(|at| (at, sep.len())))
        .min_by_key(|(at, _)| *at)
        .and_then(|(at, len)| {
            let (site, head) = (title[..at].trim(), title[at + len..].trim());
            (short(site) && !head.is_empty()).then(|| (head.to_owned(), site.to_owned()))
        });
    trailing.into_iter().chain(leading)
}

/// A name without a trailing parenthetical aside ("X (formerly Twitter)" is "X").
pub(super) fn without_aside(name: &str) -> String {
    match name.strip_suffix(')').and_then(|n| n.rsplit_once(" (")) {
        Some((head, _)) if !head.trim().is_empty() => head.trim().to_owned(),
        _ => name.to_owned(),
    }
}

/// Whether a name is really an address (`https://…`, `www.x.com`).
pub(super) fn looks_like_url(text: &str) -> bool {
    let lower = text.trim().to_ascii_lowercase();
    lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("www.")
        || lower.starts_with("//")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::DESCRIPTION_MAX_CHARS;
    use crate::extract::test_support::extract;

    #[test]
    fn entities_are_decoded_and_whitespace_collapsed() {
        let meta = extract(
            "<title>\n  Tom &amp; Jerry&#8217;s\t\u{a0}big   day &quot;out&quot;\n</title>\
             <meta name=\"description\" content=\"  one\n\n two &lt;b&gt;  \">",
        );
        assert_eq!(
            meta.title.as_deref(),
            Some("Tom & Jerry\u{2019}s big day \"out\"")
        );
        assert_eq!(meta.description.as_deref(), Some("one two <b>"));
    }

    #[test]
    fn numeric_references_left_in_text_are_decoded() {
        assert_eq!(
            clean_text("Kohberger&#8217;s &#x201C;case&#x201d; &#99999999; &#; &#0;").as_deref(),
            Some("Kohberger\u{2019}s \u{201c}case\u{201d} &#99999999; &#; &#0;")
        );
    }

    #[test]
    fn long_descriptions_are_cut_at_a_word_with_an_ellipsis() {
        let long = "word ".repeat(500) + "ünïcödé";
        let meta = extract(&format!(
            r#"<meta property="og:description" content="{long}">"#
        ));
        let d = meta.description.unwrap_or_default();
        assert!(d.ends_with("word…"), "{d}");
        assert!(d.chars().count() <= DESCRIPTION_MAX_CHARS + 1);
        let dense = "é".repeat(400);
        assert_eq!(truncate(&dense, 300).chars().count(), 301);
    }

    #[test]
    fn site_parts_split_at_the_outermost_separator() {
        let parts: Vec<_> = split_site_parts("Big news - more words | The Site").collect();
        assert_eq!(
            parts,
            [
                ("Big news - more words".to_owned(), "The Site".to_owned()),
                ("more words | The Site".to_owned(), "Big news".to_owned()),
            ]
        );
        assert_eq!(split_site_parts("No separator here").next(), None);
        let long_tail = "A - this tail has far too many words to be a name";
        let leading: Vec<_> = split_site_parts(long_tail).collect();
        assert_eq!(
            leading,
            [(
                "this tail has far too many words to be a name".to_owned(),
                "A".to_owned()
            )]
        );
        assert_eq!(without_aside("X (formerly Twitter)"), "X");
        assert_eq!(without_aside("(Name)"), "(Name)");
        assert!(looks_like_url("https://example.com"));
        assert!(!looks_like_url("Example"));
    }

    #[test]
    fn dense_text_is_cut_without_a_word_boundary() {
        let dense = "é".repeat(400);
        assert_eq!(truncate(&dense, 300).chars().count(), 301);
    }
}
