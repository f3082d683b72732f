//! The tags link extraction reads, in the order the page writes them: html5ever's
//! tokenizer, without its tree builder.
//!
//! Why no tree: a crawler reads a few attributes of a few elements, and building a
//! tree to read them cost half the extraction's time (35 against 24 µs on a
//! typical 11 KB page, BENCHMARKS.md), with time quadratic in the nesting depth of
//! a hostile page. The tokenizer is linear, and it is the part that decides what
//! is a tag: it decodes character references in attribute values, and comments,
//! CDATA and unquoted or odd attributes come out as a browser reads them.
//!
//! What a tree builder decides for the tokenizer, [`super::open_elements`] decides
//! from a stack of open element names: the text elements (`<script>`, `<style>`,
//! `<textarea>`, `<title>`, `<noscript>` as with scripting on, `<iframe>`, `<xmp>`,
//! `<noembed>`, `<noframes>`, `<plaintext>`) switch the tokenizer to their text
//! state, so nothing in them is a tag, but not inside `<svg>` or `<math>` (SVG has
//! its own `<title>` and `<style>`) outside their integration points; CDATA is text
//! only there. What is inside an HTML `<template>` is skipped, as a browser never
//! shows it.
//!
//! Where this differs from a browser's tree, on purpose: links come in source
//! order, where a tree builder moves misnested content (an `<a>` written inside a
//! `<table>` but outside its cells sits before the table), and an element a
//! browser drops (an `<a>` inside `<select>` in older parsers, anything after
//! `<frameset>`, a `<frame>` outside one) is still read. Both only change order or
//! add a link the page's source does contain. Not on purpose: where `<svg>` or
//! `<math>` is misnested with tables and formatting elements, the stack of names
//! can misjudge whether a later `<title>` or `<style>` is SVG's (see the property
//! tests in `links.rs`).

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::{local_name, LocalName};

use super::open_elements::{OpenElements, TextState};

/// The attributes of one element extraction reads, in source order.
pub(super) struct ScannedTag {
    pub(super) name: LocalName,
    pub(super) attrs: Vec<html5ever::Attribute>,
}

impl ScannedTag {
    /// The value of the attribute `name` (no namespace), if present.
    pub(super) fn attr(&self, name: &LocalName) -> Option<&str> {
        self.attrs
            .iter()
            .find(|attr| attr.name.ns.is_empty() && attr.name.local == *name)
            .map(|attr| &*attr.value)
    }

    /// Moves the value of the attribute `name` out, if present.
    pub(super) fn take_attr(&mut self, name: &LocalName) -> Option<StrTendril> {
        self.attrs
            .iter_mut()
            .find(|attr| attr.name.ns.is_empty() && attr.name.local == *name)
            .map(|attr| std::mem::take(&mut attr.value))
    }
}

/// What a scan hands its reader, in source order.
pub(super) enum Scanned<'t> {
    /// The start tag of an element outside any `<template>`.
    Start(ScannedTag),
    /// The text of the first HTML `<title>`, as one piece (character references
    /// decoded).
    FirstTitle(&'t str),
    /// Text outside `<template>`s and the first title, in pieces (a `<style>`'s
    /// text too: the tokenizer reads it as text).
    Text(&'t str),
    /// The end tag of an element outside any `<template>`.
    End(&'t LocalName),
}

/// Scans `html`, calling `read` with every start and end tag and every piece of
/// text outside `<template>`s, and the text of the first HTML title.
pub(super) fn scan(html: &str, read: impl FnMut(Scanned<'_>)) {
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let tokenizer = Tokenizer::new(TagScan::new(read), TokenizerOpts::default());
    // The sink never asks the tokenizer to pause for a script, so one feed reads all.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
}

/// The token sink: reads the tags, and tells the tokenizer which text state
/// each start tag switches to.
struct TagScan<R> {
    state: RefCell<ScanState<R>>,
}

struct ScanState<R> {
    read: R,
    open: OpenElements,
    title: Title,
}

/// The first HTML title: not met yet, being read, or done.
enum Title {
    Before,
    Reading(String),
    Done,
}

impl<R: FnMut(Scanned<'_>)> TagScan<R> {
    fn new(read: R) -> Self {
        TagScan {
            state: RefCell::new(ScanState {
                read,
                open: OpenElements::default(),
                title: Title::Before,
            }),
        }
    }
}

impl<R: FnMut(Scanned<'_>)> ScanState<R> {
    fn start_tag(&mut self, tag: Tag) -> TokenSinkResult<()> {
        let in_template = self.open.in_template();
        let (is_html, text_state) = self.open.start(&tag);
        if !in_template {
            let is_title = is_html && tag.name == local_name!("title");
            if is_title && matches!(self.title, Title::Before) {
                self.title = Title::Reading(String::new());
            }
            if tag.name != local_name!("template") {
                (self.read)(Scanned::Start(ScannedTag {
                    name: tag.name,
                    attrs: tag.attrs,
                }));
            }
        }
        match text_state {
            TextState::Markup => TokenSinkResult::Continue,
            TextState::Raw(kind) => TokenSinkResult::RawData(kind),
            TextState::Plaintext => TokenSinkResult::Plaintext,
        }
    }

    fn end_tag(&mut self, tag: &Tag) {
        if tag.name == local_name!("title") {
            self.end_title();
        }
        if !self.open.in_template() {
            (self.read)(Scanned::End(&tag.name));
        }
        self.open.end(tag);
    }

    fn text(&mut self, text: &str) {
        if let Title::Reading(title) = &mut self.title {
            title.push_str(text);
            return;
        }
        self.open.text();
        if !self.open.in_template() {
            (self.read)(Scanned::Text(text));
        }
    }

    fn end_title(&mut self) {
        if let Title::Reading(text) = &self.title {
            (self.read)(Scanned::FirstTitle(text));
            self.title = Title::Done;
        }
    }
}

impl<R: FnMut(Scanned<'_>)> TokenSink for TagScan<R> {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        let mut state = self.state.borrow_mut();
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => return state.start_tag(tag),
                TagKind::EndTag => state.end_tag(&tag),
            },
            Token::CharacterTokens(text) => state.text(&text),
            Token::EOFToken => state.end_title(),
            Token::NullCharacterToken
            | Token::CommentToken(_)
            | Token::DoctypeToken(_)
            | Token::ParseError(_) => {}
        }
        TokenSinkResult::Continue
    }

    /// CDATA sections are text only in `<svg>` and `<math>` content.
    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.state.borrow().open.current_is_foreign()
    }
}
