//! Code permalinks: the lines a `/blob/{ref}/{path}#L10-L20` link selects, read raw from
//! `GET /repos/{owner}/{repo}/contents/{path}?ref={ref}` ([`FileText`]), and the
//! preview's attributes.
//!
//! Layout:
//!
//! | id | sub-type | section | value |
//! |---|---|---|---|
//! | `title` | title | title | `src/lib.rs, lines 10–20` |
//! | `language` | plain_text | primary | `Rust` (from the file name), `Binary file` |
//! | `ref` | plain_text | primary | `Branch main (may change)`, `Tag v1.2` or `Commit 1a2b3c4` |
//! | `note` | plain_text | primary | why no lines are shown (past the end, file too large) |
//! | `identifier` | plain_text | identifier | `owner/repo@main` |
//! | `code` | plain_text | body | the selected lines (at most [`MAX_LINES`]), or the first ones |
//!
//! A link cannot tell where its ref ends and the path begins (`blob/feature/x/src/a.rs`
//! may be branch `feature/x`), so the candidates are tried shortest first ([`splits`]),
//! as long as GitHub answers that the shorter ref names no commit. What the ref is comes
//! from its form and one side read of `git/ref/heads/{ref}` ([`RefKind`]): a full commit
//! id is a commit (nothing read), a branch may move at every push ("may change"), and a
//! tag is shown as a tag without the warning: tags can be moved, but that is rare and
//! deliberate, and a push to the tag refreshes the preview anyway.

use notion_unfurl_sdk::Attribute;
use notion_unfurl_sdk::attributes::TextSection;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Deserialize;

use crate::attributes::Builder;
use crate::links::Lines;

/// Lines shown at most, from the first selected one.
pub const MAX_LINES: u32 = 40;

/// Text kept of one file: a selection past it cannot be shown. Keeps the ETag store small.
pub const MAX_FILE_BYTES: usize = 512 * 1024;

/// Characters shown of one line: minified code is no reading matter.
const MAX_LINE_CHARS: usize = 200;

/// A file's text as the preview uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileText {
    /// The lines of the first [`MAX_FILE_BYTES`] bytes.
    pub lines: Vec<String>,
    /// The file is longer than what `lines` holds.
    pub truncated: bool,
    /// Not UTF-8 text (or holding NUL bytes): nothing to show.
    pub binary: bool,
}

impl FileText {
    /// The raw body of `GET …/contents/{path}` with `Accept: application/vnd.github.raw+json`.
    /// Never fails: any bytes are a file. (The signature is the one every endpoint's
    /// parser has.)
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let truncated = bytes.len() > MAX_FILE_BYTES;
        let kept = &bytes[..bytes.len().min(MAX_FILE_BYTES)];
        let text = match std::str::from_utf8(kept) {
            Ok(text) => text,
            // Cut inside a character: keep what decodes.
            Err(e) if truncated && e.error_len().is_none() => {
                std::str::from_utf8(&kept[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => {
                return Ok(Self {
                    lines: Vec::new(),
                    truncated,
                    binary: true,
                });
            }
        };
        if text.contains('\0') {
            return Ok(Self {
                lines: Vec::new(),
                truncated,
                binary: true,
            });
        }
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
            .collect();
        // A final newline ends the last line; it starts no new one. A cut file's last
        // line may be partial: dropped.
        if lines.last().is_some_and(String::is_empty) || truncated {
            lines.pop();
        }
        Ok(Self {
            lines,
            truncated,
            binary: false,
        })
    }

    /// The lines `wanted` selects (all of them when `None`), at most [`MAX_LINES`], or
    /// why none can be shown.
    fn select(&self, wanted: Option<Lines>) -> Result<(Lines, String), String> {
        if self.binary {
            return Err("Binary file: no lines to show".to_owned());
        }
        let wanted = wanted.unwrap_or(Lines {
            start: 1,
            end: MAX_LINES,
        });
        let available = u32::try_from(self.lines.len()).unwrap_or(u32::MAX);
        if wanted.start > available {
            return Err(if self.truncated {
                "The file is too large to show these lines".to_owned()
            } else {
                format!(
                    "The file has {available} line{}",
                    if available == 1 { "" } else { "s" }
                )
            });
        }
        let end = wanted
            .end
            .min(available)
            .min(wanted.start.saturating_add(MAX_LINES - 1));
        let shown = self.lines[(wanted.start - 1) as usize..end as usize]
            .iter()
            .map(|line| {
                if line.chars().count() > MAX_LINE_CHARS {
                    let cut: String = line.chars().take(MAX_LINE_CHARS).collect();
                    format!("{cut}…")
                } else {
                    line.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        Ok((
            Lines {
                start: wanted.start,
                end,
            },
            shown,
        ))
    }
}

/// A link's percent-encoded path or ref, as text.
pub fn decoded(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The REST path of `path` at `reference` (both as the link encodes them).
pub fn api_path(repository_api_path: &str, reference: &str, path: &str) -> String {
    let reference = utf8_percent_encode(&decoded(reference), NON_ALPHANUMERIC).to_string();
    format!("{repository_api_path}/contents/{path}?ref={reference}")
}

/// Whether `reference` is a full commit id (it cannot move).
pub fn is_commit(reference: &str) -> bool {
    matches!(reference.len(), 40 | 64) && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Segments a permalink's ref may span: refs deeper than this (`a/b/c/d/e/f`) are not
/// looked for, which bounds the reads of one link whose ref GitHub does not know.
pub const MAX_REF_SEGMENTS: usize = 4;

/// The ways to cut a permalink's `{ref}/{path}` (the link's `reference`, its first
/// segment, and `path`, both percent-encoded as in the link) into a ref and a path, in
/// the order they are tried: the one-segment ref first, then one segment longer each
/// time, while a path of at least one segment remains. A full commit id is never a
/// prefix of a longer ref worth trying: it is the only candidate.
pub fn splits(reference: &str, path: &str) -> Vec<(String, String)> {
    let segments: Vec<&str> = path.split('/').collect();
    let deepest = if is_commit(&decoded(reference)) {
        1
    } else {
        MAX_REF_SEGMENTS.min(segments.len())
    };
    (1..=deepest)
        .map(|taken| {
            let mut name = reference.to_owned();
            for segment in &segments[..taken - 1] {
                name.push('/');
                name.push_str(segment);
            }
            (name, segments[taken - 1..].join("/"))
        })
        .collect()
}

/// Characters escaped in one segment of a ref named in a REST path.
const REF_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The REST path of branch `reference` (as the link encodes it),
/// `{repository_api_path}/git/ref/heads/{reference}`: its slashes stay separators.
pub fn branch_api_path(repository_api_path: &str, reference: &str) -> String {
    let name = decoded(reference)
        .split('/')
        .map(|segment| utf8_percent_encode(segment, REF_SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/");
    format!("{repository_api_path}/git/ref/heads/{name}")
}

/// `GET …/git/ref/heads/{name}` reduced to the ref it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefSummary {
    /// `refs/heads/main`.
    pub full_name: String,
}

#[derive(Debug, Deserialize)]
struct RawRef {
    #[serde(rename = "ref")]
    full_name: String,
}

impl RefSummary {
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: RawRef = serde_json::from_slice(bytes)?;
        Ok(Self {
            full_name: raw.full_name,
        })
    }
}

/// What a permalink's ref is, as the preview words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// A full commit id: the lines never change.
    Commit,
    /// A branch: the lines may change at every push.
    Branch,
    /// A tag: moved rarely and on purpose.
    Tag,
    /// An abbreviated commit id that is no branch.
    ShortCommit,
    /// The branch read failed for a passing reason: a branch or a tag, not known yet.
    Unknown,
}

/// What `GET …/git/ref/heads/{ref}` answered about a permalink's ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchAnswer<'a> {
    /// Not asked: a full commit id.
    NotRead,
    /// A ref, by its full name (`refs/heads/main`).
    Found(&'a str),
    /// No such branch (404).
    Missing,
    /// The read failed for a passing reason (rate limit, outage, timeout).
    Interrupted,
}

impl RefKind {
    /// What `reference` (decoded) is, given what GitHub answered about the branch of that
    /// name. A full commit id is a commit whatever the answer. With no branch of that
    /// name, an abbreviated commit id is what looks like one (7 to 39 hex digits), and
    /// anything else is a tag: the contents API found a commit under the name, and
    /// branches, tags and commit ids are what it looks a name up as.
    pub fn of(reference: &str, branch: BranchAnswer<'_>) -> Self {
        if is_commit(reference) {
            return RefKind::Commit;
        }
        let looks_like_commit =
            (7..40).contains(&reference.len()) && reference.bytes().all(|b| b.is_ascii_hexdigit());
        match branch {
            BranchAnswer::Found(name) if name.strip_prefix("refs/heads/") == Some(reference) => {
                RefKind::Branch
            }
            BranchAnswer::Found(_) | BranchAnswer::Missing if looks_like_commit => {
                RefKind::ShortCommit
            }
            BranchAnswer::Found(_) | BranchAnswer::Missing => RefKind::Tag,
            BranchAnswer::NotRead | BranchAnswer::Interrupted => RefKind::Unknown,
        }
    }

    /// `Branch main (may change)`, `Tag v1.2`, `Commit 1a2b3c4`.
    fn label(self, reference: &str) -> String {
        let short = reference.get(..7).unwrap_or(reference);
        match self {
            RefKind::Commit | RefKind::ShortCommit => format!("Commit {short}"),
            RefKind::Branch => format!("Branch {reference} (may change)"),
            RefKind::Tag => format!("Tag {reference}"),
            RefKind::Unknown => format!("Branch or tag {reference} (may change)"),
        }
    }
}

/// The language github.com would name for `path`, from its file name.
pub fn language(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let by_name = match name {
        "Dockerfile" | "Containerfile" => Some("Dockerfile"),
        "Makefile" | "GNUmakefile" => Some("Makefile"),
        "CMakeLists.txt" => Some("CMake"),
        _ => None,
    };
    if by_name.is_some() {
        return by_name;
    }
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "rs" => "Rust",
        "py" | "pyi" => "Python",
        "js" | "mjs" | "cjs" => "JavaScript",
        "jsx" => "JavaScript (JSX)",
        "ts" | "mts" | "cts" => "TypeScript",
        "tsx" => "TypeScript (TSX)",
        "go" => "Go",
        "java" => "Java",
        "kt" | "kts" => "Kotlin",
        "swift" => "Swift",
        "c" => "C",
        "h" => "C header",
        "cc" | "cpp" | "cxx" | "hpp" | "hh" => "C++",
        "cs" => "C#",
        "rb" => "Ruby",
        "php" => "PHP",
        "scala" => "Scala",
        "ex" | "exs" => "Elixir",
        "erl" => "Erlang",
        "hs" => "Haskell",
        "ml" | "mli" => "OCaml",
        "clj" | "cljs" => "Clojure",
        "lua" => "Lua",
        "r" => "R",
        "sh" | "bash" | "zsh" => "Shell",
        "ps1" => "PowerShell",
        "sql" => "SQL",
        "html" | "htm" => "HTML",
        "css" => "CSS",
        "scss" => "SCSS",
        "vue" => "Vue",
        "svelte" => "Svelte",
        "md" | "markdown" => "Markdown",
        "json" => "JSON",
        "yml" | "yaml" => "YAML",
        "toml" => "TOML",
        "xml" => "XML",
        "proto" => "Protocol Buffers",
        "tf" => "HCL",
        "nix" => "Nix",
        "zig" => "Zig",
        "dart" => "Dart",
        _ => return None,
    })
}

/// Every attribute of one code permalink's preview, in display order; `reference` and
/// `path` as resolved ([`splits`]), percent-encoded as in the link.
pub fn attributes(
    file: &FileText,
    full_name: &str,
    (reference, kind): (&str, RefKind),
    path: &str,
    lines: Option<Lines>,
) -> Vec<Attribute> {
    let path = decoded(path);
    let reference = decoded(reference);
    let selected = file.select(lines);
    let title = match (&selected, lines) {
        (Ok((shown, _)), Some(_)) if shown.start == shown.end => {
            format!("{path}, line {}", shown.start)
        }
        (Ok((shown, _)), Some(_)) => format!("{path}, lines {}–{}", shown.start, shown.end),
        _ => path.clone(),
    };
    let on = kind.label(&reference);
    let identifier = match kind {
        RefKind::Commit => format!("{full_name}@{}", reference.get(..7).unwrap_or(&reference)),
        _ => format!("{full_name}@{reference}"),
    };
    let language_label = if file.binary {
        Some("Binary file".to_owned())
    } else {
        language(&path).map(str::to_owned)
    };
    let (note, code) = match selected {
        Ok((_, code)) => (None, Some(code).filter(|c| !c.trim().is_empty())),
        Err(why) => (Some(why), None),
    };
    Builder::titled(&title, &identifier)
        .text("language", "Language", language_label, TextSection::Primary)
        .text("ref", "Ref", Some(on), TextSection::Primary)
        .text("note", "Note", note, TextSection::Primary)
        .identifier("File", identifier.clone())
        .text("code", "Code", code, TextSection::Body)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> FileText {
        FileText::from_bytes(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_selection_is_cut_to_forty_lines_and_to_the_file() {
        let text: String = (1..=100).map(|n| format!("line {n}\n")).collect();
        let file = file(&text);
        assert_eq!(file.lines.len(), 100);
        let (shown, code) = file
            .select(Some(Lines { start: 10, end: 90 }))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(shown, Lines { start: 10, end: 49 });
        assert!(code.starts_with("line 10\nline 11"));
        let (shown, _) = file
            .select(Some(Lines {
                start: 95,
                end: 120,
            }))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(shown.end, 100);
        assert_eq!(
            file.select(Some(Lines {
                start: 101,
                end: 101
            })),
            Err("The file has 100 lines".to_owned())
        );
    }

    #[test]
    fn binary_files_show_no_lines() {
        let binary = FileText::from_bytes(&[0x89, b'P', b'N', b'G', 0, 0xff])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(binary.binary);
        let attributes = attributes(&binary, "o/r", ("main", RefKind::Branch), "logo.png", None);
        let language = attributes.iter().find(|a| a.id() == "language");
        assert_eq!(language.and_then(Attribute::text), Some("Binary file"));
        assert!(!attributes.iter().any(|a| a.id() == "code"));
    }

    #[test]
    fn refs_and_paths_are_read_and_encoded_safely() {
        assert_eq!(
            api_path("/repos/o/r", "feature%2Fa&b", "src/a%20b.rs"),
            "/repos/o/r/contents/src/a%20b.rs?ref=feature%2Fa%26b"
        );
        assert!(is_commit("7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"));
        assert!(!is_commit("main"));
        assert_eq!(language("src/lib.rs"), Some("Rust"));
        assert_eq!(language("Dockerfile"), Some("Dockerfile"));
        assert_eq!(language("LICENSE"), None);
        assert_eq!(
            branch_api_path("/repos/o/r", "feature/a%20b+c"),
            "/repos/o/r/git/ref/heads/feature/a%20b%2Bc"
        );
    }

    #[test]
    fn a_ref_may_span_segments_up_to_a_bound() {
        assert_eq!(
            splits("feature", "x/src/a.rs"),
            [
                ("feature".to_owned(), "x/src/a.rs".to_owned()),
                ("feature/x".to_owned(), "src/a.rs".to_owned()),
                ("feature/x/src".to_owned(), "a.rs".to_owned()),
            ]
        );
        assert_eq!(splits("main", "README"), [("main".into(), "README".into())]);
        assert_eq!(splits("a", "b/c/d/e/f/g").len(), MAX_REF_SEGMENTS);
        let sha = "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d";
        assert_eq!(splits(sha, "a/b").len(), 1);
    }

    #[test]
    fn refs_are_told_apart_and_labelled() {
        let main = RefSummary {
            full_name: "refs/heads/main".into(),
        };
        let sha = "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d";
        assert_eq!(RefKind::of(sha, BranchAnswer::NotRead), RefKind::Commit);
        let found = BranchAnswer::Found(&main.full_name);
        assert_eq!(RefKind::of("main", found), RefKind::Branch);
        assert_eq!(RefKind::of("v1.2", BranchAnswer::Missing), RefKind::Tag);
        assert_eq!(RefKind::of("main2", found), RefKind::Tag);
        assert_eq!(
            RefKind::of("7fd1a60", BranchAnswer::Missing),
            RefKind::ShortCommit
        );
        assert_eq!(
            RefKind::of("v1.2", BranchAnswer::Interrupted),
            RefKind::Unknown
        );
        assert_eq!(RefKind::Tag.label("v1.2"), "Tag v1.2");
        assert_eq!(
            RefKind::Branch.label("feature/x"),
            "Branch feature/x (may change)"
        );
        assert_eq!(RefKind::Commit.label(sha), "Commit 7fd1a60");
    }
}
