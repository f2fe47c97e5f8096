//! Byte-level scans that spare the HTML parser most of a page: where the head ends, and
//! the JSON-LD blocks after it. Building a tree costs about five times more for a whole
//! page than for its head, and a script's content is raw text (no entities, no markup),
//! so a JSON-LD block reads the same whether a parser or this scan finds it.

/// The byte offset just after the first `</head>` (ASCII case-insensitive), if any.
pub(super) fn head_end(html: &str) -> Option<usize> {
    find_ci(html.as_bytes(), b"</head>", 0).map(|at| at + b"</head>".len())
}

/// The contents of the `<script type="application/ld+json">` elements in `html`, in
/// order. A `<script` inside a comment is taken too; pages do not comment out JSON-LD.
pub(super) fn json_ld_scripts(html: &str) -> Vec<&str> {
    let bytes = html.as_bytes();
    let mut scripts = Vec::new();
    let mut from = 0;
    while let Some(open) = find_ci(bytes, b"<script", from) {
        let Some(tag_end) = memchr_from(bytes, b'>', open) else {
            break;
        };
        let content_start = tag_end + 1;
        let Some(close) = find_ci(bytes, b"</script", content_start) else {
            break;
        };
        from = close + b"</script".len();
        let tag = &bytes[open..tag_end];
        if find_ci(tag, b"application/ld+json", 0).is_some() {
            // `<`, `>` and the tag name are ASCII: both ends are character boundaries.
            scripts.push(&html[content_start..close]);
        }
    }
    scripts
}

fn memchr_from(bytes: &[u8], needle: u8, from: usize) -> Option<usize> {
    memchr::memchr(needle, bytes.get(from..)?).map(|at| from + at)
}

/// The first `needle` (lower-case ASCII) in `bytes` from `from` on, ignoring ASCII case.
fn find_ci(bytes: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    loop {
        let rest = bytes.get(at..)?;
        let hit = memchr::memchr2(first, first.to_ascii_uppercase(), rest)?;
        let start = at + hit;
        let candidate = bytes.get(start..start + needle.len())?;
        if candidate.eq_ignore_ascii_case(needle) {
            return Some(start);
        }
        at = start + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_ends_after_its_closing_tag() {
        assert_eq!(head_end("<head><title>x</title></HEAD><body>"), Some(29));
        assert_eq!(head_end("<head><title>x</title>"), None);
    }

    #[test]
    fn json_ld_blocks_are_found_with_their_raw_text() {
        let html = r#"<body><script>var a = "<b>";</script>
            <SCRIPT type='application/ld+json'>{"a": "&amp; <b>"}</SCRIPT>
            <script type="text/javascript">x</script>
            <script data-x="1" type="application/ld+json">[1]</script><script type="application/ld+json">"#;
        assert_eq!(json_ld_scripts(html), [r#"{"a": "&amp; <b>"}"#, "[1]"]);
        assert!(json_ld_scripts("no scripts").is_empty());
    }
}
