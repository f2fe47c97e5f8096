//! Language tags as pages write them (`en_US`, `EN-us`, `de-AT`, `eng`) turned into
//! BCP 47 form, or refused when they are not one (`x`, `english`, `{{lang}}`).

/// A BCP 47 tag from `raw`: `_` read as `-`, the language subtag lower-cased, a region
/// upper-cased and a script title-cased. `None` unless every subtag is 1 to 8 letters or
/// digits and the language subtag is 2 or 3 letters.
pub fn language_tag(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let mut out = String::with_capacity(raw.len());
    for (i, subtag) in raw.split(['-', '_']).enumerate() {
        let valid =
            (1..=8).contains(&subtag.len()) && subtag.bytes().all(|b| b.is_ascii_alphanumeric());
        if !valid {
            return None;
        }
        if i == 0 {
            if !(2..=3).contains(&subtag.len()) || !subtag.bytes().all(|b| b.is_ascii_alphabetic())
            {
                return None;
            }
            out.push_str(&subtag.to_ascii_lowercase());
            continue;
        }
        out.push('-');
        match subtag.len() {
            2 if subtag.bytes().all(|b| b.is_ascii_alphabetic()) => {
                out.push_str(&subtag.to_ascii_uppercase());
            }
            4 if subtag.bytes().all(|b| b.is_ascii_alphabetic()) => {
                let lower = subtag.to_ascii_lowercase();
                out.push_str(&lower[..1].to_ascii_uppercase());
                out.push_str(&lower[1..]);
            }
            _ => out.push_str(&subtag.to_ascii_lowercase()),
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::test_support::extract;

    #[test]
    fn tags_are_normalised_to_bcp_47() {
        let cases = [
            ("en", "en"),
            ("en_US", "en-US"),
            (" EN-us ", "en-US"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("es-419", "es-419"),
            ("deu", "deu"),
        ];
        for (raw, want) in cases {
            assert_eq!(language_tag(raw).as_deref(), Some(want), "{raw}");
        }
        for bad in ["", "x", "english", "{{lang}}", "en--us", "1e"] {
            assert_eq!(language_tag(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_html_lang_comes_first_then_headers_then_locale() {
        let page = |head: &str| {
            format!("<!doctype html><html lang=\"de-at\"><head>{head}</head><body></body></html>")
        };
        let url = crate::extract::test_support::url("https://x.test/");
        let meta = crate::extract::from_html(
            &page(r#"<meta property="og:locale" content="fr_FR">"#),
            &url,
        );
        assert_eq!(meta.lang.as_deref(), Some("de-AT"));
        let meta = extract(r#"<meta property="og:locale" content="fr_FR">"#);
        assert_eq!(meta.lang.as_deref(), Some("fr-FR"));
        let meta = extract(
            r#"<meta http-equiv="Content-Language" content="nl"><meta property="og:locale" content="fr_FR">"#,
        );
        assert_eq!(meta.lang.as_deref(), Some("nl"));
        let meta = extract(
            r#"<script type="application/ld+json">{"@type":"Article","inLanguage":"pt-BR"}</script>"#,
        );
        assert_eq!(meta.lang.as_deref(), Some("pt-BR"));
        assert_eq!(extract("").lang, None);
    }
}
