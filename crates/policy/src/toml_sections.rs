//! Cutting a TOML config into parts that parse on their own: one per
//! `[[policy]]`, and the prelude (everything else).
//!
//! `toml` parses a whole document into a token list, an event list and a
//! tree of spanned values before it deserializes any of it: at its peak some
//! 40 times the text (2.5 GB for a 61 MB file of 100,000 policies). Parsed a
//! policy at a time, the peak is the text, the result, and one policy's
//! document model.
//!
//! This module hides how the cut is made without changing what the
//! document means. It lexes the text once with `toml`'s own lexer (tokens
//! are streamed, never stored), so strings, comments and multi-line values
//! cannot fool it, and finds the table headers: a `[` that starts a line
//! outside any value. A section runs from its header's line to the next
//! header's. A `[[policy]]` section starts a policy; a section whose header
//! starts with the key `policy` (`[policy.default]`, `[[policy.rule]]`)
//! belongs to the latest policy, as TOML has it; every other section (the
//! root keys before the first header, `[builtin]`, `[[custom_line]]`, unknown
//! tables) belongs to the prelude, wherever it stands. A part is its
//! sections' text in order; positions in it map back to the whole text.
//!
//! Where the cut could change the meaning (a header this scanner cannot
//! read, a `policy` table before the first `[[policy]]`), [`split`] declines
//! and the caller parses the whole document, so `toml` itself says what is
//! wrong. The caller must also parse the whole document when the prelude
//! defines `policy` by itself (a root key `policy = [...]`): TOML forbids
//! appending `[[policy]]` to such an array.

use std::borrow::Cow;
use std::ops::Range;

use toml_parser::Source;
use toml_parser::lexer::{Lexer, Token, TokenKind};

/// The key whose array of tables holds the policies.
const POLICY: &str = "policy";

/// A document cut into its prelude and its policies.
#[derive(Debug)]
pub(crate) struct Sections<'a> {
    text: &'a str,
    /// Runs of the text in document order with the part they belong to
    /// (`None`: the prelude; `Some(i)`: policy `i`); adjacent runs of one
    /// part are merged.
    runs: Vec<(Option<usize>, Range<usize>)>,
    policies: usize,
}

/// A part of the document: its text, and where each of its pieces came
/// from.
#[derive(Debug)]
pub(crate) struct Part<'a> {
    text: Cow<'a, str>,
    /// For each piece, its start in `text` and in the whole document,
    /// ascending.
    pieces: Vec<(usize, usize)>,
}

impl Part<'_> {
    /// The part's text: a valid TOML document when the whole one is.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The offset in the whole document of offset `at` of this part.
    pub(crate) fn offset_in_whole(&self, at: usize) -> usize {
        let piece = self.pieces.partition_point(|&(start, _)| start <= at);
        match piece.checked_sub(1).and_then(|i| self.pieces.get(i)) {
            Some(&(start, whole)) => whole + (at - start),
            None => at,
        }
    }
}

impl<'a> Sections<'a> {
    /// The number of `[[policy]]` sections.
    pub(crate) fn policy_count(&self) -> usize {
        self.policies
    }

    /// Everything that is not a policy, in document order.
    pub(crate) fn prelude(&self) -> Part<'a> {
        self.part(self.runs.iter().filter(|(owner, _)| owner.is_none()))
    }

    /// The policies in document order, each a document holding one
    /// `[[policy]]`.
    pub(crate) fn policies(&self) -> impl Iterator<Item = Part<'a>> + '_ {
        let mut runs = self
            .runs
            .iter()
            .filter(|(owner, _)| owner.is_some())
            .peekable();
        std::iter::from_fn(move || {
            let first = runs.next()?;
            let mut group = vec![first];
            while let Some(next) = runs.next_if(|(owner, _)| *owner == first.0) {
                group.push(next);
            }
            Some(self.part(group.into_iter()))
        })
    }

    fn part<'r>(&self, runs: impl Iterator<Item = &'r (Option<usize>, Range<usize>)>) -> Part<'a> {
        let mut runs = runs.map(|(_, range)| range.clone());
        let Some(first) = runs.next() else {
            return Part {
                text: Cow::Borrowed(""),
                pieces: Vec::new(),
            };
        };
        let mut pieces = vec![(0, first.start)];
        let mut text = Cow::Borrowed(&self.text[first]);
        for range in runs {
            let owned = text.to_mut();
            pieces.push((owned.len(), range.start));
            owned.push_str(&self.text[range]);
        }
        Part { text, pieces }
    }
}

/// Cuts `text` into its prelude and policies, or `None` when the cut could
/// change its meaning (see the module's documentation).
pub(crate) fn split(text: &str) -> Option<Sections<'_>> {
    let source = Source::new(text);
    let mut tokens = source.lex().peekable();
    let mut sections = Sections {
        text,
        runs: Vec::new(),
        policies: 0,
    };
    // The section being read: where it starts and whose it is.
    let mut start = 0;
    let mut owner = None;
    // Brackets and braces open in the current value.
    let mut depth = 0usize;
    // Whether only whitespace or a comment has come since the line's start
    // (at depth 0), and where the line starts.
    let mut line_start = true;
    let mut line_offset = 0;
    while let Some(token) = tokens.next() {
        match token.kind() {
            TokenKind::Eof => break,
            TokenKind::Newline => {
                if depth == 0 {
                    line_start = true;
                    line_offset = token.span().end();
                }
            }
            TokenKind::Whitespace | TokenKind::Comment if line_start => {}
            TokenKind::LeftSquareBracket if line_start => {
                let header = read_header(&source, token, &mut tokens)?;
                let next = if header.array && header.keys == 1 && header.first == POLICY {
                    sections.policies += 1;
                    Some(sections.policies - 1)
                } else if header.first == POLICY {
                    // `[policy.…]` before any `[[policy]]` makes `policy` a
                    // table: only the whole document says how that fails.
                    Some(sections.policies.checked_sub(1)?)
                } else {
                    None
                };
                sections.push(owner, start..line_offset);
                (start, owner, line_start) = (line_offset, next, false);
            }
            kind => {
                line_start = false;
                match kind {
                    TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => depth += 1,
                    // Unbalanced closers make the section they are in
                    // invalid; its part's parse reports them.
                    TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                        depth = depth.saturating_sub(1);
                    }
                    _ => {}
                }
            }
        }
    }
    sections.push(owner, start..text.len());
    Some(sections)
}

impl Sections<'_> {
    fn push(&mut self, owner: Option<usize>, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        match self.runs.last_mut() {
            Some((last, run)) if *last == owner && run.end == range.start => run.end = range.end,
            _ => self.runs.push((owner, range)),
        }
    }
}

/// A table header: whether it is an array of tables, its first key and its
/// number of keys.
struct Header<'a> {
    array: bool,
    first: Cow<'a, str>,
    keys: usize,
}

/// Reads a header after its opening `[`: `[` or `[[`, dotted keys (bare or
/// quoted, whitespace around the dots), `]` or `]]`. `None` for anything
/// else, which `toml` then reports from the whole document.
fn read_header<'a>(
    source: &Source<'a>,
    open: Token,
    tokens: &mut std::iter::Peekable<Lexer<'a>>,
) -> Option<Header<'a>> {
    let array = tokens
        .next_if(|t| {
            t.kind() == TokenKind::LeftSquareBracket && t.span().start() == open.span().end()
        })
        .is_some();
    let mut first = None;
    let mut keys = 0;
    loop {
        let key = next_solid(tokens)?;
        if !matches!(
            key.kind(),
            TokenKind::Atom | TokenKind::BasicString | TokenKind::LiteralString
        ) {
            return None;
        }
        let mut decoded = Cow::Borrowed("");
        let mut error = None;
        source.get(key)?.decode_key(&mut decoded, &mut error);
        if error.is_some() {
            return None;
        }
        first.get_or_insert(decoded);
        keys += 1;
        match next_solid(tokens)?.kind() {
            TokenKind::Dot => {}
            TokenKind::RightSquareBracket => break,
            _ => return None,
        }
    }
    if array {
        tokens.next_if(|t| t.kind() == TokenKind::RightSquareBracket)?;
    }
    Some(Header {
        array,
        first: first?,
        keys,
    })
}

/// The next token that is not whitespace.
fn next_solid(tokens: &mut std::iter::Peekable<Lexer<'_>>) -> Option<Token> {
    tokens.find(|t| t.kind() != TokenKind::Whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> (String, Vec<String>) {
        let sections = split(text).expect("a cut");
        let prelude = sections.prelude().text().to_owned();
        let policies = sections.policies().map(|p| p.text().to_owned()).collect();
        (prelude, policies)
    }

    #[test]
    fn policies_and_their_subtables_are_parts_of_their_own() {
        let text = "a = 1\n[builtin]\ncname = \"x\"\n\n[[policy]]\ndomain = \"a\"\n[[policy.rule]]\nname = \"r\"\n[policy.default]\nt = 1\n[[policy]]\ndomain = \"b\"\n";
        let (prelude, policies) = texts(text);
        assert_eq!(prelude, "a = 1\n[builtin]\ncname = \"x\"\n\n");
        assert_eq!(
            policies,
            [
                "[[policy]]\ndomain = \"a\"\n[[policy.rule]]\nname = \"r\"\n[policy.default]\nt = 1\n",
                "[[policy]]\ndomain = \"b\"\n",
            ]
        );
    }

    #[test]
    fn sections_after_the_policies_join_the_prelude_and_map_back() {
        let text = "[builtin]\nx = 1\n[[policy]]\nd = 1\n[[custom_line]]\nn = 2\n  [ \"policy\" . 'rule' ] # c\nr = 3\n";
        let sections = split(text).unwrap();
        let prelude = sections.prelude();
        assert_eq!(prelude.text(), "[builtin]\nx = 1\n[[custom_line]]\nn = 2\n");
        let n = prelude.text().find("n = 2").unwrap();
        assert_eq!(prelude.offset_in_whole(n), text.find("n = 2").unwrap());
        let policies: Vec<_> = sections.policies().collect();
        assert_eq!(policies.len(), 1);
        let policy = &policies[0];
        assert_eq!(
            policy.text(),
            "[[policy]]\nd = 1\n  [ \"policy\" . 'rule' ] # c\nr = 3\n"
        );
        let r = policy.text().find("r = 3").unwrap();
        assert_eq!(policy.offset_in_whole(r), text.find("r = 3").unwrap());
        assert_eq!(policy.offset_in_whole(0), text.find("[[policy]]").unwrap());
    }

    #[test]
    fn brackets_inside_values_strings_and_comments_are_not_headers() {
        let text = "[[policy]]\nlines = [\n[\"x\"],\n]\ns = \"\"\"\n[[policy]]\n\"\"\"\n# [[policy]]\nt = { a = [\n1] }\n";
        let (prelude, policies) = texts(text);
        assert_eq!(prelude, "");
        assert_eq!(policies, [text]);
    }

    #[test]
    fn declines_where_the_cut_could_change_the_meaning() {
        for text in [
            "[policy.default]\nx = 1\n[[policy]]\n",
            "[policy]\n",
            "[ [policy]]\n",
            "[[policy]\n",
            "[a b]\n",
            "[\"\\q\"]\n",
            "[]\n",
        ] {
            assert!(split(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn carriage_returns_and_a_missing_final_newline() {
        let text = "[builtin]\r\nx = 1\r\n[[policy]]\r\nd = 1";
        let (prelude, policies) = texts(text);
        assert_eq!(prelude, "[builtin]\r\nx = 1\r\n");
        assert_eq!(policies, ["[[policy]]\r\nd = 1"]);
    }
}
