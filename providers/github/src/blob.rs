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
//! | `ref` | plain_text | primary | `Branch main (may change)` or `Commit 1a2b3c4` |
//! | `note` | plain_text | primary | why no lines are shown (past the end, file too large) |
//! | `identifier` | plain_text | identifier | `owner/repo@main` |
//! | `code` | plain_text | body | the selected lines (at most [`MAX_LINES`]), or the first ones |
//!
//! A ref that is not a full commit id is called a branch: a link cannot tell a branch from
//! a tag without another request, and both can move, which is what the reader must know.

use notion_unfurl_sdk::Attribute;
use notion_unfurl_sdk::attributes::TextSection;
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

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

/// Every attribute of one code permalink's preview, in display order.
pub fn attributes(
    file: &FileText,
    full_name: &str,
    reference: &str,
    path: &str,
    lines: Option<Lines>,
) -> Vec<Attribute> {
    let path = decoded(path);
    let reference = decoded(reference);
    let text = |id: &str, name: &str, value: Option<String>, section: TextSection| {
        value.and_then(|v| Attribute::plain_text(id, name, v, section).ok())
    };
    let selected = file.select(lines);
    let title = match (&selected, lines) {
        (Ok((shown, _)), Some(_)) if shown.start == shown.end => {
            format!("{path}, line {}", shown.start)
        }
        (Ok((shown, _)), Some(_)) => format!("{path}, lines {}–{}", shown.start, shown.end),
        _ => path.clone(),
    };
    let (on, identifier) = if is_commit(&reference) {
        let short = reference.get(..7).unwrap_or(&reference);
        (format!("Commit {short}"), format!("{full_name}@{short}"))
    } else {
        (
            format!("Branch {reference} (may change)"),
            format!("{full_name}@{reference}"),
        )
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
    [
        Attribute::title("title", "Title", title.as_str())
            .or_else(|_| Attribute::title("title", "Title", identifier.as_str()))
            .ok(),
        text("language", "Language", language_label, TextSection::Primary),
        text("ref", "Ref", Some(on), TextSection::Primary),
        text("note", "Note", note, TextSection::Primary),
        text(
            "identifier",
            "File",
            Some(identifier.clone()),
            TextSection::Identifier,
        ),
        text("code", "Code", code, TextSection::Body),
    ]
    .into_iter()
    .flatten()
    .collect()
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
        let attributes = attributes(&binary, "o/r", "main", "logo.png", None);
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
    }
}
