//! The shape of `server/src`, checked with the project's own tools (issue 20,
//! "Must show"): no file over 500 lines, no function over 80 lines, and no
//! import circle among the server's files. Small files and functions are
//! what lets a reviewer read a grant or a check at a glance; an import
//! circle means two files cannot be understood (or moved) one without the
//! other, and the layering in `DESIGN.md` (domain → … → store → state →
//! login → oauth → http) exists to rule them out.
//!
//! The source is read as text with a small Rust lexer (strings, raw strings,
//! chars and comments skipped, so braces inside them do not count).
//! `#[cfg(test)]` items are left out of the function and import checks: unit
//! tests may be long and may reach anywhere.
//!
//! Imports are the paths `crate::…`, `super::…` and `self::…`, in `use`
//! declarations (grouped, nested and glob forms included) and anywhere in the
//! code. A path is resolved to the longest prefix that is a module file
//! (`mod.rs` and `lib.rs` standing for their folder); where the rest of the
//! path names something that file only re-exports (`pub use a::B`), the
//! arrow goes to the file that defines it. Circles are the strongly
//! connected components of that graph (Tarjan). The failure message lists
//! every offender, and for each circle its files and the arrows between
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 500;
const MAX_FN_LINES: usize = 80;

#[test]
fn server_files_are_small_functions_short_and_imports_free_of_circles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = read_tree(&root);
    assert!(!files.is_empty(), "no sources under {}", root.display());
    let mut problems = Vec::new();

    for (rel, src) in &files {
        let lines = src.lines().count();
        if lines > MAX_FILE_LINES {
            problems.push(format!(
                "file over {MAX_FILE_LINES} lines: {rel} ({lines} lines)"
            ));
        }
    }

    let lexed: BTreeMap<&str, Vec<Token>> = files
        .iter()
        .map(|(rel, src)| (rel.as_str(), without_test_items(lex(src))))
        .collect();

    for (rel, tokens) in &lexed {
        for f in functions(tokens) {
            if f.lines > MAX_FN_LINES {
                problems.push(format!(
                    "function over {MAX_FN_LINES} lines: {rel}:{} {} ({} lines)",
                    f.line, f.name, f.lines
                ));
            }
        }
    }

    let graph = Graph::build(&lexed);
    for circle in graph.circles() {
        let mut text = format!("import circle among {} files:", circle.len());
        for file in &circle {
            text.push_str(&format!("\n      {file}"));
        }
        for file in &circle {
            for to in graph.edges[file].iter().filter(|t| circle.contains(t)) {
                text.push_str(&format!("\n      {file} -> {to}"));
            }
        }
        problems.push(text);
    }

    assert!(
        problems.is_empty(),
        "server/src breaks issue 20's rules ({} offenders):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

/// Every `.rs` file under `root`, by path relative to it (`/`-separated).
fn read_tree(root: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read server/src") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(root, &mut paths);
    paths
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).expect("under root");
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            (rel, std::fs::read_to_string(&p).expect("read source"))
        })
        .collect()
}

// ---------------------------------------------------------------- lexing

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An identifier, keyword or number.
    Word(String),
    /// `::`
    PathSep,
    /// Any other punctuation character.
    Punct(char),
    /// A string, char or lifetime: something braces inside do not count in.
    Literal,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

impl Token {
    fn is(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }

    fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }
}

/// Rust source as tokens, comments dropped, literals collapsed.
fn lex(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let push = |out: &mut Vec<Token>, tok, line| out.push(Token { tok, line });
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            let start = line;
            i = skip_string(&c, i + 1, &mut line);
            push(&mut out, Tok::Literal, start);
        } else if ch == '\'' {
            i = char_or_lifetime(&c, i, &mut line);
            push(&mut out, Tok::Literal, line);
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let prefix = matches!(word.as_str(), "r" | "b" | "br" | "c" | "cr");
            let raw = matches!(word.as_str(), "r" | "br" | "cr");
            if prefix && c.get(i) == Some(&'"') {
                let start = line;
                i = if raw {
                    skip_raw_string(&c, i, 0, &mut line)
                } else {
                    skip_string(&c, i + 1, &mut line)
                };
                push(&mut out, Tok::Literal, start);
            } else if raw && c.get(i) == Some(&'#') {
                let mut hashes = 0;
                while c.get(i + hashes) == Some(&'#') {
                    hashes += 1;
                }
                if c.get(i + hashes) == Some(&'"') {
                    let start = line;
                    i = skip_raw_string(&c, i + hashes, hashes, &mut line);
                    push(&mut out, Tok::Literal, start);
                } else {
                    // A raw identifier: r#type.
                    i += 1;
                    let start = i;
                    while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                        i += 1;
                    }
                    push(&mut out, Tok::Word(c[start..i].iter().collect()), line);
                }
            } else if word == "b" && c.get(i) == Some(&'\'') {
                i = char_or_lifetime(&c, i, &mut line);
                push(&mut out, Tok::Literal, line);
            } else {
                push(&mut out, Tok::Word(word), line);
            }
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            push(&mut out, Tok::PathSep, line);
            i += 2;
        } else {
            push(&mut out, Tok::Punct(ch), line);
            i += 1;
        }
    }
    out
}

/// Past the closing quote of a string whose body starts at `i`.
fn skip_string(c: &[char], mut i: usize, line: &mut usize) -> usize {
    while i < c.len() {
        match c[i] {
            '\\' => {
                if c.get(i + 1) == Some(&'\n') {
                    *line += 1;
                }
                i += 2;
            }
            '"' => return i + 1,
            '\n' => {
                *line += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    i
}

/// Past a raw string whose opening quote is at `i`, closed by `"` and
/// `hashes` hashes.
fn skip_raw_string(c: &[char], mut i: usize, hashes: usize, line: &mut usize) -> usize {
    i += 1;
    while i < c.len() {
        if c[i] == '"' && (0..hashes).all(|k| c.get(i + 1 + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        if c[i] == '\n' {
            *line += 1;
        }
        i += 1;
    }
    i
}

/// Past a char literal (`'x'`, `'\n'`, `'\u{1F600}'`) or a lifetime or
/// label (`'a`, `'static`) starting at the quote at `i`.
fn char_or_lifetime(c: &[char], i: usize, line: &mut usize) -> usize {
    if c.get(i + 1) == Some(&'\\') {
        let mut j = i + 2;
        while j < c.len() && c[j] != '\'' {
            if c[j] == '\n' {
                *line += 1;
            }
            j += 1;
        }
        return j + 1;
    }
    if c.get(i + 2) == Some(&'\'') {
        if c.get(i + 1) == Some(&'\n') {
            *line += 1;
        }
        return i + 3;
    }
    // A lifetime: the name follows as a word, which is harmless.
    i + 1
}

/// Index just past the bracket matching the opening one at `open`.
fn matching(tokens: &[Token], open: usize) -> usize {
    let (o, c) = match tokens[open].tok {
        Tok::Punct('{') => ('{', '}'),
        Tok::Punct('(') => ('(', ')'),
        Tok::Punct('[') => ('[', ']'),
        _ => return open + 1,
    };
    let mut depth = 0usize;
    for (k, t) in tokens.iter().enumerate().skip(open) {
        if t.is(o) {
            depth += 1;
        } else if t.is(c) {
            depth -= 1;
            if depth == 0 {
                return k + 1;
            }
        }
    }
    tokens.len()
}

/// The tokens without `#[cfg(test)]` items (test modules, test-only
/// functions and imports).
fn without_test_items(tokens: Vec<Token>) -> Vec<Token> {
    let is_cfg_test = |k: usize| {
        let want = ["#", "[", "cfg", "(", "test", ")", "]"];
        want.iter().enumerate().all(|(n, w)| {
            tokens.get(k + n).is_some_and(|t| match &t.tok {
                Tok::Word(x) => x == w,
                Tok::Punct(p) => p.to_string() == *w,
                _ => false,
            })
        })
    };
    let mut keep = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if !is_cfg_test(i) {
            keep.push(tokens[i].clone());
            i += 1;
            continue;
        }
        i += 7;
        // Further attributes on the same item.
        while i + 1 < tokens.len() && tokens[i].is('#') && tokens[i + 1].is('[') {
            i = matching(&tokens, i + 1);
        }
        i = item_end(&tokens, i);
    }
    keep
}

/// Index just past the item starting at `i`: its `;` or its closing brace.
fn item_end(tokens: &[Token], mut i: usize) -> usize {
    let is_use = tokens
        .iter()
        .skip(i)
        .find(|t| !matches!(t.word(), Some("pub")) && !t.is('(') && !t.is(')'))
        .is_some_and(|t| t.word() == Some("use"));
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is(';') {
            return i + 1;
        }
        if t.is('{') {
            let end = matching(tokens, i);
            if !is_use {
                return end;
            }
            i = end;
        } else if t.is('(') || t.is('[') {
            i = matching(tokens, i);
        } else {
            i += 1;
        }
    }
    i
}

// ------------------------------------------------------------- functions

struct Function {
    name: String,
    line: usize,
    lines: usize,
}

/// Every function with a body, counted from its `fn` line to the line of
/// its closing brace.
fn functions(tokens: &[Token]) -> Vec<Function> {
    let mut out = Vec::new();
    for (k, t) in tokens.iter().enumerate() {
        if t.word() != Some("fn") {
            continue;
        }
        // `fn(u8) -> u8` is a type, not an item.
        let Some(name) = tokens.get(k + 1).and_then(Token::word) else {
            continue;
        };
        let mut j = k + 2;
        let body = loop {
            match tokens.get(j) {
                None => break None,
                Some(t) if t.is(';') => break None,
                Some(t) if t.is('{') => break Some(j),
                Some(t) if t.is('(') || t.is('[') => j = matching(tokens, j),
                Some(_) => j += 1,
            }
        };
        if let Some(open) = body {
            let close = matching(tokens, open) - 1;
            let end = tokens.get(close).map_or(t.line, |c| c.line);
            out.push(Function {
                name: name.to_string(),
                line: t.line,
                lines: end - t.line + 1,
            });
        }
    }
    out
}

// --------------------------------------------------------------- imports

/// Module path of a file: `oauth/token/mod.rs` and `oauth/token.rs` are both
/// `oauth::token`; `lib.rs` is the crate root.
fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// A path as written after `use` or in code, made absolute (from the crate
/// root); several for a grouped `use`.
type ModPath = Vec<String>;

struct Graph {
    /// File → files it imports from.
    edges: BTreeMap<String, BTreeSet<String>>,
}

/// What one file says: the absolute paths it names, and the names its `use`
/// declarations bring in.
#[derive(Default)]
struct FileRefs {
    paths: Vec<ModPath>,
    /// Every name a `use` binds, including `pub use child::X` (a path from a
    /// child module): what a path through this file really names.
    uses: BTreeMap<String, ModPath>,
    /// Names bound by `use crate::…`/`super::…`/`self::…`: a path in code
    /// that starts with one (`store::keys::load` after `use crate::store`)
    /// is an import too.
    aliases: BTreeMap<String, ModPath>,
}

impl Graph {
    fn build(files: &BTreeMap<&str, Vec<Token>>) -> Graph {
        // main.rs is the binary crate: its `crate::` is not the library's,
        // and nothing imports it, so it can be in no circle.
        let modules: BTreeMap<Vec<String>, String> = files
            .keys()
            .filter(|rel| **rel != "main.rs")
            .map(|rel| (module_of(rel), rel.to_string()))
            .collect();
        let refs: BTreeMap<String, FileRefs> = modules
            .iter()
            .map(|(module, rel)| {
                (
                    rel.clone(),
                    references(&files[rel.as_str()], module, &modules),
                )
            })
            .collect();
        let resolve = |path: &ModPath| resolve(path, &modules, &refs, 0);
        let mut edges = BTreeMap::new();
        for (rel, r) in &refs {
            let targets: BTreeSet<String> = r
                .paths
                .iter()
                .filter_map(resolve)
                .filter(|t| t != rel)
                .collect();
            edges.insert(rel.clone(), targets);
        }
        Graph { edges }
    }

    /// Strongly connected components of more than one file, each sorted.
    fn circles(&self) -> Vec<Vec<String>> {
        let mut t = Tarjan {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            next: 0,
            found: Vec::new(),
        };
        for v in self.edges.keys() {
            if !t.index.contains_key(v.as_str()) {
                t.visit(v);
            }
        }
        t.found
    }
}

struct Tarjan<'g> {
    graph: &'g Graph,
    index: BTreeMap<&'g str, usize>,
    low: BTreeMap<&'g str, usize>,
    stack: Vec<&'g str>,
    on_stack: BTreeSet<&'g str>,
    next: usize,
    found: Vec<Vec<String>>,
}

impl<'g> Tarjan<'g> {
    fn visit(&mut self, v: &'g str) {
        self.index.insert(v, self.next);
        self.low.insert(v, self.next);
        self.next += 1;
        self.stack.push(v);
        self.on_stack.insert(v);
        for w in &self.graph.edges[v] {
            let w = w.as_str();
            if !self.index.contains_key(w) {
                self.visit(w);
                let low = self.low[v].min(self.low[w]);
                self.low.insert(v, low);
            } else if self.on_stack.contains(w) {
                let low = self.low[v].min(self.index[w]);
                self.low.insert(v, low);
            }
        }
        if self.low[v] == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                self.found.push(component);
            }
        }
    }
}

/// The file `path` leads to: the longest prefix that is a module file, and
/// through that file's `use` declarations when the rest of the path names
/// something it only re-exports.
fn resolve(
    path: &ModPath,
    modules: &BTreeMap<Vec<String>, String>,
    refs: &BTreeMap<String, FileRefs>,
    depth: usize,
) -> Option<String> {
    let n = (0..=path.len())
        .rev()
        .find(|n| modules.contains_key(&path[..*n]))?;
    let file = &modules[&path[..n]];
    if depth < 8
        && let Some(next) = path.get(n)
        && let Some(target) = refs[file].uses.get(next)
        && target.len() > 1
    {
        let mut through = target.clone();
        through.extend(path[n + 1..].iter().cloned());
        if let Some(found) = resolve(&through, modules, refs, depth + 1) {
            return Some(found);
        }
    }
    Some(file.clone())
}

/// The crate paths a file names, made absolute, and its `use` bindings.
fn references(
    tokens: &[Token],
    module: &[String],
    modules: &BTreeMap<Vec<String>, String>,
) -> FileRefs {
    let mut refs = FileRefs::default();
    // Inline modules (`mod x { … }`) nest the current module.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is('{') {
            depth += 1;
        } else if t.is('}') {
            depth = depth.saturating_sub(1);
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
        }
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(m, _)| m.clone()))
            .collect();
        if t.word() == Some("mod")
            && let Some(name) = tokens.get(i + 1).and_then(Token::word)
            && tokens.get(i + 2).is_some_and(|t| t.is('{'))
        {
            inline.push((name.to_string(), depth));
            depth += 1;
            i += 3;
            continue;
        }
        if t.word() == Some("use") {
            let end = item_end(tokens, i);
            for (bound, path, anchored) in use_tree(&tokens[i + 1..end - 1], &here, modules) {
                // A module file naming its own children (`pub use client::X`)
                // is how Rust folders are built, not an import.
                if anchored {
                    refs.paths.push(path.clone());
                }
                if let Some(name) = bound {
                    if anchored {
                        refs.aliases.insert(name.clone(), path.clone());
                    }
                    refs.uses.insert(name, path);
                }
            }
            // Braces inside the use tree are balanced: depth is unchanged.
            i = end;
            continue;
        }
        let starts_path = !tokens
            .get(i.wrapping_sub(1))
            .is_some_and(|p| p.tok == Tok::PathSep);
        if starts_path
            && matches!(t.word(), Some("crate" | "super" | "self"))
            && tokens.get(i + 1).is_some_and(|n| n.tok == Tok::PathSep)
        {
            let (words, next) = path_words(tokens, i);
            if let Some(path) = absolute(&words, &here) {
                refs.paths.push(path);
            }
            i = next;
            continue;
        }
        if starts_path
            && let Some(alias) = t.word().and_then(|w| refs.aliases.get(w))
            && tokens.get(i + 1).is_some_and(|n| n.tok == Tok::PathSep)
        {
            let (words, next) = path_words(tokens, i);
            let mut path = alias.clone();
            path.extend(words.into_iter().skip(1));
            refs.paths.push(path);
            i = next;
            continue;
        }
        i += 1;
    }
    refs
}

/// The words of a path in code starting at `i` (`a::b::c`), and the index
/// after it.
fn path_words(tokens: &[Token], mut i: usize) -> (Vec<String>, usize) {
    let mut segs = Vec::new();
    while let Some(w) = tokens.get(i).and_then(Token::word) {
        segs.push(w.to_string());
        i += 1;
        if tokens.get(i).is_some_and(|t| t.tok == Tok::PathSep)
            && tokens.get(i + 1).and_then(Token::word).is_some()
        {
            i += 1;
        } else {
            break;
        }
    }
    (segs, i)
}

/// `segs` as seen from module `here`, from the crate root; `None` for a path
/// that does not start at `crate`, `super` or `self`.
fn absolute(segs: &[String], here: &[String]) -> Option<ModPath> {
    let mut base: Vec<String> = here.to_vec();
    let mut rest = segs;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The paths of a `use` tree (the tokens between `use` and `;`), each with
/// the name it binds (none for globs and `_`) and whether it starts at
/// `crate`/`super`/`self`. Other paths are kept only when they start with a
/// child module of `here` (`pub use client::Client;`).
fn use_tree(
    tokens: &[Token],
    here: &[String],
    modules: &BTreeMap<Vec<String>, String>,
) -> Vec<(Option<String>, ModPath, bool)> {
    let mut leaves = Vec::new();
    let tokens: Vec<&Token> = tokens.iter().collect();
    tree(&tokens, &[], &mut leaves);
    leaves
        .into_iter()
        .filter_map(|(bound, segs)| {
            if let Some(path) = absolute(&segs, here) {
                return Some((bound, path, true));
            }
            let mut child = here.to_vec();
            child.push(segs.first()?.clone());
            modules.contains_key(&child).then(|| {
                let mut p = here.to_vec();
                p.extend(segs.iter().cloned());
                (bound, p, false)
            })
        })
        .collect()
}

/// Walks a use tree (`a::b::{c, d::{self, e as f}, g::*}`) under `prefix`.
fn tree(tokens: &[&Token], prefix: &[String], out: &mut Vec<(Option<String>, ModPath)>) {
    let mut segs = prefix.to_vec();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        let next_word = || tokens.get(i + 2).and_then(|t| t.word()).map(str::to_string);
        let alias = tokens.get(i + 1).is_some_and(|t| t.word() == Some("as"));
        match t.word() {
            Some("as") => {
                let bound = tokens.get(i + 1).and_then(|t| t.word());
                out.push((bound.filter(|b| *b != "_").map(str::to_string), segs));
                return;
            }
            // `{self}` (or `{self as x}`) names the group's prefix itself.
            Some("self") if !segs.is_empty() => {
                let bound = if alias {
                    next_word()
                } else {
                    segs.last().cloned()
                };
                out.push((bound, segs));
                return;
            }
            Some(w) => segs.push(w.to_string()),
            None if t.is('*') => {
                out.push((None, segs));
                return;
            }
            None if t.is('{') => {
                let close = i + matching_ref(&tokens[i..]);
                let mut level = 0;
                let mut item = i + 1;
                for j in i + 1..close {
                    let u = tokens[j];
                    if u.is('{') {
                        level += 1;
                    } else if u.is('}') {
                        level -= 1;
                    } else if u.is(',') && level == 0 {
                        tree(&tokens[item..j], &segs, out);
                        item = j + 1;
                    }
                }
                if item < close {
                    tree(&tokens[item..close], &segs, out);
                }
                return;
            }
            None => {}
        }
        i += 1;
    }
    if segs.len() > prefix.len() {
        out.push((segs.last().cloned(), segs));
    }
}

/// Index of the `}` closing the `{` at the start of `tokens`.
fn matching_ref(tokens: &[&Token]) -> usize {
    let mut depth = 0usize;
    for (k, t) in tokens.iter().enumerate() {
        if t.is('{') {
            depth += 1;
        } else if t.is('}') {
            depth -= 1;
            if depth == 0 {
                return k;
            }
        }
    }
    tokens.len()
}

#[test]
fn the_lexer_skips_braces_in_strings_chars_and_comments() {
    let src = "fn a() {\n let s = \"}\"; let c = '}'; let r = r#\"}\"#; // }\n /* } */ let l: &'static str = s;\n}\nfn b<'x>(v: &'x str) -> &'x str { v }\n";
    let fns = functions(&lex(src));
    assert_eq!(
        fns.iter()
            .map(|f| (f.name.as_str(), f.line, f.lines))
            .collect::<Vec<_>>(),
        vec![("a", 1, 4), ("b", 5, 1)]
    );
}

#[test]
fn test_modules_are_left_out_and_grouped_imports_are_read() {
    let src = "use crate::a::{b::{self, C}, d::*, e::F as G};\nuse super::h;\nfn f() { crate::i::j(); }\n#[cfg(test)]\nmod tests { use crate::z; fn long() {} }\n";
    let modules: BTreeMap<Vec<String>, String> = [
        "x/y.rs", "a/b.rs", "a/d.rs", "a/e.rs", "x/h.rs", "i.rs", "z.rs",
    ]
    .iter()
    .map(|f| (module_of(f), f.to_string()))
    .collect();
    let tokens = without_test_items(lex(src));
    let refs = references(&tokens, &module_of("x/y.rs"), &modules);
    let no_reexports: BTreeMap<String, FileRefs> = modules
        .values()
        .map(|f| (f.clone(), FileRefs::default()))
        .collect();
    let files: BTreeSet<String> = refs
        .paths
        .iter()
        .filter_map(|p| resolve(p, &modules, &no_reexports, 0))
        .collect();
    assert_eq!(
        files,
        ["a/b.rs", "a/d.rs", "a/e.rs", "x/h.rs", "i.rs"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    assert!(functions(&tokens).iter().all(|f| f.name != "long"));
}

#[test]
fn paths_through_an_imported_module_and_a_re_export_are_followed() {
    let modules: BTreeMap<Vec<String>, String> = ["lib.rs", "t/k.rs", "s/mod.rs", "s/k.rs"]
        .iter()
        .map(|f| (module_of(f), f.to_string()))
        .collect();
    let lexed = |src: &str| without_test_items(lex(src));
    let files: BTreeMap<&str, Vec<Token>> = BTreeMap::from([
        ("lib.rs", lexed("pub mod s; pub mod t;")),
        ("t/k.rs", lexed("use crate::s;\nfn f() { s::k::load(); }")),
        ("s/mod.rs", lexed("pub mod k;\npub use k::Key;")),
        (
            "s/k.rs",
            lexed("pub struct Key;\nfn g() { crate::t::k::f(); }"),
        ),
    ]);
    let graph = Graph::build(&files);
    assert_eq!(
        graph.circles(),
        vec![vec!["s/k.rs".to_string(), "t/k.rs".to_string()]]
    );
    let user = lexed("fn h() -> crate::s::Key { todo!() }");
    let refs = references(&user, &[], &modules);
    let through: BTreeMap<String, FileRefs> = files
        .iter()
        .map(|(f, t)| (f.to_string(), references(t, &module_of(f), &modules)))
        .collect();
    assert_eq!(
        resolve(&refs.paths[0], &modules, &through, 0).as_deref(),
        Some("s/k.rs"),
        "the re-export leads to the file that defines Key"
    );
}
