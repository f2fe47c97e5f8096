//! Owner names that are GitHub's own pages: a two-segment link under them
//! (`github.com/features/actions`) is no repository and must not match the repository
//! pattern, so the next provider (OpenGraph) previews it as the page it is.

use notion_unfurl_sdk::regex;

/// Top-level paths of github.com that are pages of GitHub itself, not owners: a
/// two-segment link under them is no repository (GitHub reserves these names, so no
/// account can hold one). Owners are matched without regard to case.
const RESERVED_OWNERS: [&str; 24] = [
    "about",
    "account",
    "apps",
    "codespaces",
    "collections",
    "customer-stories",
    "enterprise",
    "explore",
    "features",
    "issues",
    "login",
    "marketplace",
    "new",
    "notifications",
    "organizations",
    "orgs",
    "pulls",
    "readme",
    "resources",
    "security",
    "settings",
    "solutions",
    "sponsors",
    "topics",
];

/// A regex for owner names (`[A-Za-z0-9][A-Za-z0-9-]*`) other than [`RESERVED_OWNERS`],
/// in any letter case.
pub fn not_reserved() -> String {
    none_of(&RESERVED_OWNERS)
}

/// A regex matching the names GitHub allows for owners except `words` (lower-case), in
/// any letter case, without look-ahead (which neither Rust's `regex` nor every dashboard
/// supports): at each character, either leave the words' common prefixes or stay on one.
fn none_of(words: &[&str]) -> String {
    fn class(c: char) -> String {
        if c.is_ascii_alphabetic() {
            format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
        } else {
            regex::escape(&c.to_string())
        }
    }
    /// Characters of `[A-Za-z0-9-]` (or without `-` when `first`) other than `taken`, as a
    /// class of ranges.
    fn others(taken: &[char], first: bool) -> String {
        let free = |c: &char| !taken.contains(&c.to_ascii_lowercase());
        let mut class = String::from("[");
        for (from, to) in [('a', 'z'), ('A', 'Z'), ('0', '9')] {
            let chars: Vec<char> = (from..=to).filter(free).collect();
            let mut at = 0;
            while at < chars.len() {
                let mut end = at;
                while end + 1 < chars.len() && chars[end + 1] as u32 == chars[end] as u32 + 1 {
                    end += 1;
                }
                class.push(chars[at]);
                if end > at {
                    class.push('-');
                    class.push(chars[end]);
                }
                at = end + 1;
            }
        }
        if !first && free(&'-') {
            class.push_str(r"\-");
        }
        class.push(']');
        class
    }
    fn node(prefix: &str, words: &[&str]) -> String {
        let first = prefix.is_empty();
        let is_word = words.contains(&prefix);
        let mut next: Vec<char> = words
            .iter()
            .filter_map(|w| w.strip_prefix(prefix)?.chars().next())
            .collect();
        next.sort_unstable();
        next.dedup();
        let mut branches = vec![format!("{}[A-Za-z0-9-]*", others(&next, first))];
        for c in &next {
            let longer = format!("{prefix}{c}");
            branches.push(format!("{}{}", class(*c), node(&longer, words)));
        }
        let alternatives = branches.join("|");
        if is_word || first {
            // A word may not end here (nor may the name be empty): one more character
            // is required.
            format!("(?:{alternatives})")
        } else {
            format!("(?:{alternatives})?")
        }
    }
    node("", words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_owners_are_excluded_in_any_case_and_only_whole() {
        let length = not_reserved().len();
        assert!(length < 10_000, "{length}");
        let owner =
            regex::Regex::new(&format!("^{}$", not_reserved())).unwrap_or_else(|e| panic!("{e}"));
        for name in RESERVED_OWNERS {
            assert!(!owner.is_match(name), "{name}");
            assert!(!owner.is_match(&name.to_ascii_uppercase()), "{name}");
        }
        for name in [
            "octocat",
            "org",
            "orgsx",
            "new1",
            "news",
            "a",
            "rust-lang",
            "Settings-2",
        ] {
            assert!(owner.is_match(name), "{name}");
        }
        for bad in ["", "-a", "a_b"] {
            assert!(!owner.is_match(bad), "{bad}");
        }
    }
}
