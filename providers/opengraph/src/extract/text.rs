//! Whitespace and length rules shared by every text field, so that a title read from
//! `og:title` and one read from JSON-LD come out the same way.

/// Whitespace runs collapsed to one space, trimmed; `None` when nothing is left.
pub(super) fn clean_text(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for word in raw.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    (!out.is_empty()).then_some(out)
}

/// At most `max` characters, cut at a word boundary when one is near, with an ellipsis.
pub(super) fn truncate(text: &str, max: usize) -> String {
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
    fn long_descriptions_are_cut_at_a_word_with_an_ellipsis() {
        let long = "word ".repeat(100) + "ünïcödé";
        let meta = extract(&format!(
            r#"<meta property="og:description" content="{long}">"#
        ));
        let d = meta.description.unwrap_or_default();
        assert!(d.ends_with("word…"), "{d}");
        assert!(d.chars().count() <= DESCRIPTION_MAX_CHARS + 1);
        let dense = "é".repeat(400);
        assert_eq!(truncate(&dense, 300).chars().count(), 301);
    }
}
