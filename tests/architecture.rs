//! The layout rules of `src/lib.rs`, checked on the source itself.
//!
//! Each file's imports are read as the paths it names (`crate::…`, `super::…`, `self::…`,
//! grouped `{…}` forms included; comments are skipped). A file may import its own folder
//! and the layers below its own; never a layer above, never a sibling capability of its
//! layer, and no two files may import each other through any chain. A folder's `mod.rs`
//! depends on the children it declares, so a child that reaches back into its parent's
//! `mod.rs` is a cycle too. Imports inside `#[cfg(test)]` modules are not counted: a test
//! may drive its subject through the parent's API. The provider crates are held to the
//! no-cycle rule.
//!
//! `ARCHITECTURE_SRC=DIR cargo test --test architecture` checks another tree (an old
//! checkout, say) with the same rules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The server's layers, top first: a module may import only those with a larger rank.
const LAYERS: &[(&str, u8)] = &[
    ("cli", 0),
    ("startup", 1),
    ("http", 2),
    ("state", 3),
    ("live", 4),
    ("oauth", 5),
    ("unfurl", 6),
    ("clients", 7),
    ("store", 7),
    ("platform", 8),
];

const MAX_FILE_LINES: usize = 800;
const MAX_TOP_LEVEL_ENTRIES: usize = 12;

type Module = Vec<String>;

#[derive(Debug)]
struct Import {
    line: usize,
    path: Vec<String>,
}

#[derive(Debug)]
struct SourceFile {
    shown: String,
    module: Module,
    imports: Vec<Import>,
    children: Vec<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn server_src() -> PathBuf {
    std::env::var_os("ARCHITECTURE_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("src"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `a/b.rs` is module `[a, b]`; `a/mod.rs` is `[a]`; `lib.rs` is the crate root `[]`.
fn module_of(relative: &Path) -> Module {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" && stem != "main" {
            parts.push(stem.to_owned());
        }
    }
    parts
}

/// The text with comments blanked out (line structure kept, so line numbers stay right).
/// String literals are blanked too, so a path inside one is not read as an import.
fn code_only(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            out.extend(std::iter::repeat_n(' ', end));
            i += end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(rest.len(), |e| e + 2);
            out.extend(
                rest[..end]
                    .chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' }),
            );
            i += end;
        } else if let Some(end) = raw_string_len(rest) {
            out.extend(
                rest[..end]
                    .chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' }),
            );
            i += end;
        } else if rest.starts_with("'\"'") || rest.starts_with("'\\\"'") {
            let end = if rest.starts_with("'\"'") { 3 } else { 4 };
            out.extend(std::iter::repeat_n(' ', end));
            i += end;
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() {
                match rest.as_bytes()[j] {
                    b'\\' => j += 2,
                    b'"' => break,
                    _ => j += 1,
                }
            }
            let end = (j + 1).min(rest.len());
            out.extend(
                rest[..end]
                    .chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' }),
            );
            i += end;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The length of a raw string literal (`r"…"`, `r#"…"#`, …) at the start of `text`.
fn raw_string_len(text: &str) -> Option<usize> {
    let after_r = text.strip_prefix('r')?;
    let hashes = after_r.len() - after_r.trim_start_matches('#').len();
    let body = after_r[hashes..].strip_prefix('"')?;
    let closing = format!("\"{}", "#".repeat(hashes));
    let end = body.find(&closing)?;
    Some(1 + hashes + 1 + end + closing.len())
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths named from `start` on (just after `crate::` or the like): `a::b::C`, or a
/// grouped `{a::{b, c}, d}`, each as its segments.
fn paths_at(text: &str, start: usize) -> Vec<Vec<String>> {
    let rest = &text[start..];
    let rest_trimmed = rest.trim_start();
    if let Some(inner) = rest_trimmed.strip_prefix('{') {
        let mut depth = 0usize;
        let mut items = Vec::new();
        let mut current = String::new();
        for c in inner.chars() {
            match c {
                '{' => {
                    depth += 1;
                    current.push(c);
                }
                '}' if depth == 0 => break,
                '}' => {
                    depth -= 1;
                    current.push(c);
                }
                ',' if depth == 0 => items.push(std::mem::take(&mut current)),
                _ => current.push(c),
            }
        }
        items.push(current);
        let mut out = Vec::new();
        for item in items {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let head: String = item.chars().take_while(|c| is_ident(*c)).collect();
            if head.is_empty() || head == "self" {
                out.push(Vec::new());
                continue;
            }
            let after = &item[head.len()..];
            if let Some(tail) = after.trim_start().strip_prefix("::") {
                let offset = item.len() - tail.len();
                for mut path in paths_at(item, offset) {
                    path.insert(0, head.clone());
                    out.push(path);
                }
            } else {
                out.push(vec![head]);
            }
        }
        return out;
    }
    let mut segments = Vec::new();
    let mut rest = rest_trimmed;
    loop {
        let ident: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        if ident.is_empty() {
            if rest.starts_with('{') {
                let offset = text.len() - rest.len();
                return paths_at(text, offset)
                    .into_iter()
                    .map(|tail| segments.iter().cloned().chain(tail).collect())
                    .collect();
            }
            break;
        }
        rest = &rest[ident.len()..];
        segments.push(ident);
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    vec![segments]
}

/// Where each inline module (`mod name { … }`) of a file's code begins and ends.
fn inline_module_spans(code: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    for (at, _) in code.match_indices("mod ") {
        if code[..at].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let after = &code[at + 4..];
        let name_len = after.chars().take_while(|c| is_ident(*c)).count();
        let rest = &after[name_len..];
        let Some(body) = rest.trim_start().strip_prefix('{') else {
            continue;
        };
        let open = code.len() - body.len();
        let mut depth = 1usize;
        let mut end = code.len();
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        spans.push(open..end);
    }
    spans
}

fn read_file(path: &Path, base: &Path) -> SourceFile {
    let relative = path.strip_prefix(base).unwrap_or(path);
    let module = module_of(relative);
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let code = code_only(&text);
    let mut imports = Vec::new();
    let mut children = Vec::new();
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let inline_modules = inline_module_spans(&code);
    // Test modules may use their parent's API: they are not part of the program's graph.
    let test_modules: Vec<_> = inline_modules
        .iter()
        .filter(|span| {
            let before = code[..span.start].trim_end();
            let before = before.strip_suffix('{').unwrap_or(before);
            let head = before.trim_end();
            let declaration_start = head.rfind("mod ").unwrap_or(0);
            code[..declaration_start]
                .trim_end()
                .ends_with("#[cfg(test)]")
        })
        .cloned()
        .collect();
    for (at, _) in code.match_indices("::") {
        let before = &code[..at];
        let word_start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !is_ident(*c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[word_start..];
        // `crate` preceded by `::` would be some other crate's item of that name.
        if before[..word_start].ends_with("::") {
            continue;
        }
        let base: Option<Module> = match word {
            "crate" => Some(Vec::new()),
            "self" => Some(module.clone()),
            "super" => {
                // `super::super::…` climbs once per `super`; the first ones leave the inline
                // modules (`mod tests { … }`) around this point, which stay in this file.
                let mut climbs = 1;
                let mut rest = &code[at + 2..];
                while let Some(next) = rest.strip_prefix("super::") {
                    climbs += 1;
                    rest = next;
                }
                let inline = inline_modules.iter().filter(|r| r.contains(&at)).count();
                let mut parent = module.clone();
                for _ in inline..climbs {
                    parent.pop();
                }
                Some(parent)
            }
            _ => None,
        };
        let Some(base) = base else { continue };
        if test_modules.iter().any(|span| span.contains(&at)) {
            continue;
        }
        let mut start = at + 2;
        if word == "super" {
            while code[start..].starts_with("super::") {
                start += "super::".len();
            }
        }
        for tail in paths_at(&code, start) {
            let mut path = base.clone();
            path.extend(tail);
            imports.push(Import {
                line: line_of(at),
                path,
            });
        }
    }
    for (number, line) in code.lines().enumerate() {
        let line = line.trim();
        let declared = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("pub(crate) mod "))
            .or_else(|| line.strip_prefix("mod "));
        if let Some(name) = declared.and_then(|d| d.strip_suffix(';')) {
            let _ = number;
            children.push(name.trim().to_owned());
        }
    }
    SourceFile {
        shown: path
            .strip_prefix(root())
            .unwrap_or(path)
            .display()
            .to_string(),
        module,
        imports,
        children,
    }
}

fn read_tree(base: &Path) -> Vec<SourceFile> {
    let mut paths = Vec::new();
    rust_files(base, &mut paths);
    paths.sort();
    paths
        .iter()
        .filter(|p| p.file_name().is_none_or(|n| n != "main.rs"))
        .map(|p| read_file(p, base))
        .collect()
}

/// The module a path lands in: its longest prefix that is a file of the tree.
fn resolve<'a>(path: &[String], modules: &'a BTreeSet<Module>) -> Option<&'a Module> {
    (0..=path.len())
        .rev()
        .find_map(|n| modules.get(&path[..n].to_vec()))
}

/// Edges between files (by module), each with the first line that makes it.
fn graph(files: &[SourceFile]) -> BTreeMap<Module, BTreeMap<Module, usize>> {
    let modules: BTreeSet<Module> = files.iter().map(|f| f.module.clone()).collect();
    let mut edges: BTreeMap<Module, BTreeMap<Module, usize>> = BTreeMap::new();
    for file in files {
        let from = edges.entry(file.module.clone()).or_default();
        for import in &file.imports {
            if let Some(to) = resolve(&import.path, &modules)
                && *to != file.module
            {
                from.entry(to.clone()).or_insert(import.line);
            }
        }
        for child in &file.children {
            let mut to = file.module.clone();
            to.push(child.clone());
            if modules.contains(&to) {
                from.entry(to).or_insert(0);
            }
        }
    }
    edges
}

/// Every cycle's files, one cycle per strongly connected group (Tarjan), shown as a chain.
fn cycles(files: &[SourceFile]) -> Vec<String> {
    let edges = graph(files);
    let shown: BTreeMap<&Module, &str> = files
        .iter()
        .map(|f| (&f.module, f.shown.as_str()))
        .collect();
    let nodes: Vec<&Module> = edges.keys().collect();
    let index_of: BTreeMap<&Module, usize> =
        nodes.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let adjacency: Vec<Vec<usize>> = nodes
        .iter()
        .map(|m| {
            edges[*m]
                .keys()
                .filter_map(|t| index_of.get(t).copied())
                .collect()
        })
        .collect();

    struct Tarjan<'g> {
        adjacency: &'g [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        groups: Vec<Vec<usize>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: usize) {
            self.index[v] = Some(self.next);
            self.low[v] = self.next;
            self.next += 1;
            self.stack.push(v);
            self.on_stack[v] = true;
            for &w in &self.adjacency[v] {
                match self.index[w] {
                    None => {
                        self.visit(w);
                        self.low[v] = self.low[v].min(self.low[w]);
                    }
                    Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                    Some(_) => {}
                }
            }
            if Some(self.low[v]) == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack[w] = false;
                    group.push(w);
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    self.groups.push(group);
                }
            }
        }
    }
    let n = nodes.len();
    let mut tarjan = Tarjan {
        adjacency: &adjacency,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        groups: Vec::new(),
    };
    for v in 0..n {
        if tarjan.index[v].is_none() {
            tarjan.visit(v);
        }
    }
    let describe = |m: &Module| shown.get(m).copied().unwrap_or("?").to_owned();
    tarjan
        .groups
        .iter()
        .map(|group| {
            // One concrete loop through the group, from its first member (breadth-first, so
            // the chain shown is a shortest one).
            let members: BTreeSet<usize> = group.iter().copied().collect();
            let start = *group.iter().min().unwrap_or(&0);
            let mut came_from: BTreeMap<usize, usize> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            let mut closing = None;
            while let Some(v) = queue.pop_front() {
                for &w in &adjacency[v] {
                    if !members.contains(&w) {
                        continue;
                    }
                    if w == start {
                        closing = Some(v);
                        break;
                    }
                    if let std::collections::btree_map::Entry::Vacant(slot) = came_from.entry(w) {
                        slot.insert(v);
                        queue.push_back(w);
                    }
                }
                if closing.is_some() {
                    break;
                }
            }
            let mut chain = vec![start];
            let mut at = closing.unwrap_or(start);
            while at != start {
                chain.push(at);
                at = came_from.get(&at).copied().unwrap_or(start);
            }
            chain[1..].reverse();
            chain.push(start);
            let steps: Vec<String> = chain
                .windows(2)
                .map(|pair| {
                    let line = edges[nodes[pair[0]]][nodes[pair[1]]];
                    let how = if line == 0 {
                        "declares".to_owned()
                    } else {
                        format!("line {line} imports")
                    };
                    format!("{} ({how})", describe(nodes[pair[0]]))
                })
                .collect();
            format!(
                "import cycle of {} files: {} -> {}",
                group.len(),
                steps.join(" -> "),
                describe(nodes[start])
            )
        })
        .collect()
}

fn rank(top: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == top)
        .map(|(_, r)| *r)
}

/// Every import that reaches up or sideways, as `file:line: what`.
fn layer_violations(files: &[SourceFile]) -> Vec<String> {
    let modules: BTreeSet<Module> = files.iter().map(|f| f.module.clone()).collect();
    let mut found = Vec::new();
    for file in files {
        let Some(top) = file.module.first() else {
            continue;
        };
        let Some(own) = rank(top) else {
            found.push(format!(
                "{}: module `{top}` is in no layer of the rule in src/lib.rs",
                file.shown
            ));
            continue;
        };
        for import in &file.imports {
            let Some(target) = resolve(&import.path, &modules) else {
                continue;
            };
            let Some(their_top) = target.first() else {
                continue;
            };
            if their_top == top {
                continue;
            }
            let path = import.path.join("::");
            match rank(their_top) {
                None => {}
                Some(theirs) if theirs > own => {}
                Some(theirs) if theirs == own => found.push(format!(
                    "{}:{}: `{top}` imports `{path}`, a sibling in its own layer",
                    file.shown, import.line
                )),
                Some(_) => found.push(format!(
                    "{}:{}: `{top}` imports `{path}`, a layer above it",
                    file.shown, import.line
                )),
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let files = read_tree(&server_src());
    let found = layer_violations(&files);
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}

#[test]
fn no_two_files_of_the_server_import_each_other() {
    let files = read_tree(&server_src());
    let found = cycles(&files);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn no_two_files_of_a_provider_crate_import_each_other() {
    let providers = root().join("providers");
    let mut crates: Vec<PathBuf> = std::fs::read_dir(&providers)
        .map(|entries| entries.flatten().map(|e| e.path().join("src")).collect())
        .unwrap_or_default();
    crates.retain(|src| src.is_dir());
    crates.sort();
    assert!(
        !crates.is_empty(),
        "no provider crates under {}",
        providers.display()
    );
    let mut found = Vec::new();
    for src in crates {
        found.extend(cycles(&read_tree(&src)));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn no_source_file_is_longer_than_the_limit() {
    let mut paths = Vec::new();
    rust_files(&server_src(), &mut paths);
    if let Ok(entries) = std::fs::read_dir(root().join("providers")) {
        for entry in entries.flatten() {
            rust_files(&entry.path().join("src"), &mut paths);
        }
    }
    let mut long: Vec<String> = paths
        .iter()
        .filter_map(|p| {
            let lines = std::fs::read_to_string(p).ok()?.lines().count();
            (lines > MAX_FILE_LINES).then(|| format!("{}: {lines} lines", p.display()))
        })
        .collect();
    long.sort();
    assert!(
        long.is_empty(),
        "split these files by concern (at most {MAX_FILE_LINES} lines):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_top_of_src_holds_at_most_a_dozen_entries() {
    let entries: Vec<String> = std::fs::read_dir(server_src())
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        entries.len() <= MAX_TOP_LEVEL_ENTRIES,
        "src/ holds {} entries: {entries:?}",
        entries.len()
    );
}

/// The checker itself: a small tree with an upward import, a sideways one and a cycle
/// through a parent module must be caught, each with its file and line.
#[test]
fn the_checker_catches_upward_imports_and_cycles() {
    let dir = std::env::temp_dir().join(format!("architecture-{}", std::process::id()));
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    };
    write(
        "lib.rs",
        "pub mod http;\npub mod oauth;\npub mod store;\npub mod clients;\n",
    );
    write("http/mod.rs", "pub mod unfurl;\npub fn shared() {}\n");
    write(
        "http/unfurl.rs",
        "// crate::startup in a comment is no import\nuse super::shared;\n",
    );
    write(
        "oauth/mod.rs",
        "use crate::{store::Store, http::unfurl::post};\n",
    );
    write(
        "store/mod.rs",
        "pub struct Store;\nfn f() { crate::clients::x(); }\n",
    );
    write(
        "clients/mod.rs",
        "pub fn x() {}\n#[cfg(test)]\nmod tests {\n    use crate::oauth::Thing;\n}\n",
    );
    let files = read_tree(&dir);
    let layers = layer_violations(&files);
    let cycles = cycles(&files);
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(
        layers.len(),
        2,
        "one upward and one sideways import: {layers:#?}"
    );
    assert!(layers[0].contains("oauth/mod.rs:1") && layers[0].contains("a layer above it"));
    assert!(layers[1].contains("store/mod.rs:2") && layers[1].contains("sibling"));
    assert_eq!(cycles.len(), 1, "{cycles:#?}");
    assert!(
        cycles[0].contains("http/mod.rs (declares)")
            && cycles[0].contains("http/unfurl.rs (line 2 imports)"),
        "{}",
        cycles[0]
    );
}
