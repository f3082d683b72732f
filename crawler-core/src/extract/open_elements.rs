//! The open elements of a page being tokenized, as far as the tokenizer needs
//! them: which text state a start tag switches to, whether the current node is
//! in `<svg>` or `<math>` content, and whether it is inside a `<template>`.
//!
//! A tree builder knows all three from its stack of open elements; this keeps a
//! stack of names only, with the rules that decide which elements are open: end
//! tags close their element if it is in scope, block start tags close an open
//! `<p>`, table parts outside a table are dropped, and formatting elements
//! (`<a>`, `<b>`...) closed by misnesting are reopened around what follows (the
//! "active formatting elements"). It does not move nodes (foster parenting,
//! the adoption agency's reparenting): order is not its business. Property
//! tests in `links.rs` hold what it decides to a real tree builder on random
//! markup.
//!
//! Bounded: at most [`MAX_OPEN`] open elements and formatting entries are kept,
//! the oldest forgotten first, so a page of a million unclosed tags costs
//! constant memory and linear time.

use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::Tag;
use html5ever::{local_name, LocalName};

/// Open elements (and formatting entries) kept at most; when full, the oldest
/// half is forgotten: what decides the current node is at the top.
const MAX_OPEN: usize = 512;

/// The text state a start tag switches the tokenizer to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TextState {
    /// Markup as usual.
    Markup,
    /// The text of a `<script>`, `<style>`, `<textarea>`...
    Raw(RawKind),
    /// Everything to the end of the page (`<plaintext>`).
    Plaintext,
}

#[derive(Default)]
pub(super) struct OpenElements {
    open: Vec<Open>,
    /// HTML `<template>`s among `open`.
    templates: usize,
    /// Formatting elements opened and not ended by their own end tag, and
    /// markers (`None`: a cell, a template) that they do not cross.
    formatting: Vec<Option<Formatting>>,
    /// A formatting element was closed by something else: it may need reopening.
    may_reopen: bool,
    next_id: u64,
}

struct Open {
    name: LocalName,
    kind: Kind,
    /// A foreign element's namespace: SVG, or else MathML.
    svg: bool,
    /// Increasing along the stack, so membership is a binary search.
    id: u64,
}

struct Formatting {
    name: LocalName,
    /// The id it was last opened as.
    id: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Html,
    /// An element of `<svg>` or `<math>` content (or the root itself).
    Foreign,
    /// A foreign element whose content is HTML again (`<foreignObject>`,
    /// `<mi>`, `<annotation-xml encoding=text/html>`...).
    IntegrationPoint,
}

impl OpenElements {
    /// Whether the current node is inside an HTML `<template>`.
    pub(super) fn in_template(&self) -> bool {
        self.templates > 0
    }

    /// Whether the current node is an SVG or MathML element that is not an
    /// integration point: start tags there are foreign.
    pub(super) fn in_foreign_content(&self) -> bool {
        self.current() == Kind::Foreign
    }

    /// Whether the current node is an SVG or MathML element, integration points
    /// included: CDATA sections are text there.
    pub(super) fn current_is_foreign(&self) -> bool {
        self.current() != Kind::Html
    }

    fn current(&self) -> Kind {
        self.open.last().map_or(Kind::Html, |open| open.kind)
    }

    /// Opens what a start tag opens; returns whether it was an HTML element
    /// (not SVG or MathML) and the text state it switches to.
    pub(super) fn start(&mut self, tag: &Tag) -> (bool, TextState) {
        if self.in_foreign_content() && breaks_out_of_foreign_content(tag) {
            self.leave_foreign_content();
        }
        if self.in_foreign_content() {
            self.foreign_start(tag);
            (false, TextState::Markup)
        } else {
            (true, self.html_start(tag))
        }
    }

    /// Text outside any text element: formatting elements closed by misnesting
    /// open again around it.
    pub(super) fn text(&mut self) {
        let in_text_element = self
            .open
            .last()
            .is_some_and(|top| top.kind == Kind::Html && is_text_element(&top.name));
        if !in_text_element && !self.in_foreign_content() {
            self.reopen_formatting();
        }
    }

    fn html_start(&mut self, tag: &Tag) -> TextState {
        let name = &tag.name;
        if closes_a_paragraph(name) {
            self.close_paragraph();
        }
        if matches!(
            *name,
            local_name!("li") | local_name!("dt") | local_name!("dd")
        ) {
            self.close_list_item(name);
        }
        if *name == local_name!("option")
            && self
                .open
                .last()
                .is_some_and(|top| top.kind == Kind::Html && top.name == *name)
        {
            self.truncate(self.open.len() - 1);
        }
        if *name == local_name!("table") {
            // A table directly in a table (not in a cell) ends the first; what a
            // tree builder moved out of the table in between is still on the
            // stack.
            let table = self.open.iter().rposition(|open| {
                open.kind == Kind::Html
                    && matches!(
                        open.name,
                        local_name!("table")
                            | local_name!("td")
                            | local_name!("th")
                            | local_name!("caption")
                            | local_name!("template")
                    )
            });
            if let Some(at) = table.filter(|&at| self.open[at].name == local_name!("table")) {
                self.truncate(at);
            }
        }
        if let Some(context) = table_context(name).filter(|_| self.is_open(&local_name!("table"))) {
            // A table part closes what is open in the table above its context.
            if let Some(at) = self.open.iter().rposition(|open| {
                open.kind == Kind::Html
                    && (context.contains(&open.name)
                        || matches!(
                            open.name,
                            local_name!("table") | local_name!("template") | local_name!("html")
                        ))
            }) {
                self.truncate(at + 1);
            }
        }
        if *name == local_name!("a") {
            // A new link ends the one still open.
            self.end_formatting(name);
        }
        if reopens_formatting(name) {
            self.reopen_formatting();
        }
        match *name {
            local_name!("svg") | local_name!("math") => {
                if !tag.self_closing {
                    self.push(name, Kind::Foreign, *name == local_name!("svg"));
                }
                return TextState::Markup;
            }
            // Void, or merged into the element a page has only one of.
            _ if is_void(name)
                || matches!(
                    *name,
                    local_name!("html") | local_name!("head") | local_name!("body")
                ) =>
            {
                return TextState::Markup
            }
            // Table parts outside a table are dropped.
            local_name!("caption")
            | local_name!("colgroup")
            | local_name!("tbody")
            | local_name!("thead")
            | local_name!("tfoot")
            | local_name!("tr")
            | local_name!("td")
            | local_name!("th")
                if !self.is_open(&local_name!("table")) =>
            {
                return TextState::Markup
            }
            _ => {
                let id = self.push(name, Kind::Html, false);
                if is_formatting(name) {
                    self.add_formatting(Some(Formatting {
                        name: name.clone(),
                        id,
                    }));
                } else if is_formatting_marker(name) {
                    self.add_formatting(None);
                }
            }
        }
        match *name {
            local_name!("title") | local_name!("textarea") => TextState::Raw(RawKind::Rcdata),
            local_name!("script") => TextState::Raw(RawKind::ScriptData),
            local_name!("style")
            | local_name!("xmp")
            | local_name!("iframe")
            | local_name!("noembed")
            | local_name!("noframes")
            | local_name!("noscript") => TextState::Raw(RawKind::Rawtext),
            local_name!("plaintext") => TextState::Plaintext,
            _ => TextState::Markup,
        }
    }

    fn foreign_start(&mut self, tag: &Tag) {
        if tag.self_closing {
            return;
        }
        // In the namespace of the current node, but for an `<svg>` in MathML's
        // `<annotation-xml>`.
        let in_svg = self.open.last().is_some_and(|top| {
            top.svg || (tag.name == local_name!("svg") && top.name == local_name!("annotation-xml"))
        });
        let integration_point = if in_svg {
            matches!(
                tag.name,
                local_name!("foreignobject") | local_name!("desc") | local_name!("title")
            )
        } else {
            matches!(
                tag.name,
                local_name!("mi") | local_name!("mo") | local_name!("mn") | local_name!("ms")
            ) || tag.name == local_name!("mtext")
                || (tag.name == local_name!("annotation-xml")
                    && tag
                        .attrs
                        .iter()
                        .find(|attr| attr.name.local == local_name!("encoding"))
                        .is_some_and(|attr| {
                            attr.value.eq_ignore_ascii_case("text/html")
                                || attr.value.eq_ignore_ascii_case("application/xhtml+xml")
                        }))
        };
        let kind = if integration_point {
            Kind::IntegrationPoint
        } else {
            Kind::Foreign
        };
        self.push(&tag.name, kind, in_svg);
    }

    /// Closes what an end tag closes.
    pub(super) fn end(&mut self, tag: &Tag) {
        let name = &tag.name;
        if self.in_foreign_content() && matches!(*name, local_name!("p") | local_name!("br")) {
            // These two end tags break out of foreign content.
            self.leave_foreign_content();
        }
        // With a foreign current node, the nearest foreign element of that name
        // closes, if no HTML element comes first.
        if self.current() != Kind::Html {
            for at in (0..self.open.len()).rev() {
                if self.open[at].kind == Kind::Html {
                    break;
                }
                if self.open[at].name == *name {
                    self.truncate(at);
                    return;
                }
            }
        }
        // Otherwise HTML's rules: any open template closes; a formatting element
        // closes if it is open and in scope; anything else closes if in scope.
        if *name == local_name!("template") {
            if let Some(at) = self.open.iter().rposition(is_template) {
                self.truncate(at);
            }
            return;
        }
        if is_formatting(name) && self.end_formatting(name) {
            return;
        }
        if let Some(at) = self.in_scope(name) {
            self.truncate(at);
        }
    }

    /// Where the nearest open HTML element of this name is, if no scope boundary
    /// for its end tag comes first.
    fn in_scope(&self, name: &LocalName) -> Option<usize> {
        for at in (0..self.open.len()).rev() {
            let open = &self.open[at];
            if open.kind == Kind::Html && open.name == *name {
                return Some(at);
            }
            if is_scope_boundary(open, name) {
                return None;
            }
        }
        None
    }

    /// Whether an HTML element of this name is open.
    fn is_open(&self, name: &LocalName) -> bool {
        self.open
            .iter()
            .any(|open| open.kind == Kind::Html && open.name == *name)
    }

    /// Closes the list item a new `<li>` (or `<dt>`, `<dd>`) follows, looking
    /// down the stack past `<address>`, `<div>`, `<p>` and non-special elements.
    fn close_list_item(&mut self, name: &LocalName) {
        let closes = |open: &LocalName| match *name {
            local_name!("li") => *open == local_name!("li"),
            _ => matches!(*open, local_name!("dt") | local_name!("dd")),
        };
        for at in (0..self.open.len()).rev() {
            let open = &self.open[at];
            if open.kind == Kind::Html && closes(&open.name) {
                self.truncate(at);
                return;
            }
            let passed = open.kind == Kind::Html
                && matches!(
                    open.name,
                    local_name!("address") | local_name!("div") | local_name!("p")
                );
            if is_special(open) && !passed {
                return;
            }
        }
    }

    /// Closes an open `<p>` in button scope, with what it contains.
    fn close_paragraph(&mut self) {
        if let Some(at) = self.in_scope(&local_name!("p")) {
            self.truncate(at);
        }
    }

    /// Closes the foreign elements above the current HTML element or integration
    /// point.
    fn leave_foreign_content(&mut self) {
        let keep = self
            .open
            .iter()
            .rposition(|open| open.kind != Kind::Foreign)
            .map_or(0, |at| at + 1);
        self.truncate(keep);
    }

    fn push(&mut self, name: &LocalName, kind: Kind, svg: bool) -> u64 {
        if self.open.len() == MAX_OPEN {
            let forgotten = self.open.drain(..MAX_OPEN / 2);
            self.templates -= forgotten.filter(is_template).count();
        }
        if kind == Kind::Html && *name == local_name!("template") {
            self.templates += 1;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.open.push(Open {
            name: name.clone(),
            kind,
            svg,
            id,
        });
        id
    }

    /// Closes the elements from index `at` up.
    fn truncate(&mut self, at: usize) {
        let closed = self.open.get(at..).unwrap_or_default();
        self.templates -= closed.iter().filter(|open| is_template(open)).count();
        for open in closed {
            if open.kind != Kind::Html {
                continue;
            }
            if is_formatting_marker(&open.name) {
                // The formatting elements opened inside a cell or template end
                // with it.
                let marker = self.formatting.iter().rposition(Option::is_none);
                self.formatting.truncate(marker.unwrap_or(0));
                // What was open before it may have closed meanwhile.
                self.may_reopen = true;
            } else if is_formatting(&open.name) {
                self.may_reopen = true;
            }
        }
        self.open.truncate(at);
    }

    fn add_formatting(&mut self, entry: Option<Formatting>) {
        if self.formatting.len() == MAX_OPEN {
            self.formatting.drain(..MAX_OPEN / 2);
        }
        self.formatting.push(entry);
    }

    /// Ends the latest formatting element of this name since the last marker, as
    /// a tree builder's "adoption agency" does: closes it (and what it contains)
    /// if it is open and in scope. Whether there was one.
    fn end_formatting(&mut self, name: &LocalName) -> bool {
        let mut found = None;
        for at in (0..self.formatting.len()).rev() {
            match &self.formatting[at] {
                None => break,
                Some(entry) if entry.name == *name => {
                    found = Some((at, entry.id));
                    break;
                }
                Some(_) => {}
            }
        }
        let Some((entry, id)) = found else {
            return false;
        };
        self.formatting.remove(entry);
        if let Ok(at) = self.open.binary_search_by_key(&id, |open| open.id) {
            let in_scope = self.open[at + 1..]
                .iter()
                .all(|open| !is_scope_boundary(open, name));
            // The blocks inside it stay open, moved out of it, and what is open
            // inside the last of them closes (the tree builder's "furthest block"
            // rounds); without a block inside, it closes with what it contains.
            let last_block = self.open[at + 1..].iter().rposition(is_special);
            match last_block {
                _ if !in_scope => {}
                Some(block) => {
                    self.truncate(at + 1 + block + 1);
                    self.open.remove(at);
                }
                None => self.truncate(at),
            }
        }
        true
    }

    /// Opens again the formatting elements since the last marker that are no
    /// longer open.
    fn reopen_formatting(&mut self) {
        if !std::mem::take(&mut self.may_reopen) {
            return;
        }
        let since = self
            .formatting
            .iter()
            .rposition(Option::is_none)
            .map_or(0, |marker| marker + 1);
        for at in since..self.formatting.len() {
            let Some(entry) = &self.formatting[at] else {
                continue;
            };
            if self
                .open
                .binary_search_by_key(&entry.id, |open| open.id)
                .is_ok()
            {
                continue;
            }
            let name = entry.name.clone();
            let id = self.push(&name, Kind::Html, false);
            if let Some(Some(entry)) = self.formatting.get_mut(at) {
                entry.id = id;
            }
        }
    }
}

fn is_template(open: &Open) -> bool {
    open.kind == Kind::Html && open.name == local_name!("template")
}

/// Whether the end tag `</end>` stops looking for its element at `open` (the
/// HTML standard's "has an element in scope"): a stray `</p>` inside a `<table>`
/// or a `<template>` does not close what is outside them.
fn is_scope_boundary(open: &Open, end: &LocalName) -> bool {
    let table_part = matches!(
        *end,
        local_name!("table")
            | local_name!("tbody")
            | local_name!("thead")
            | local_name!("tfoot")
            | local_name!("tr")
    );
    match open.kind {
        _ if table_part => {
            open.kind == Kind::Html
                && matches!(
                    open.name,
                    local_name!("html") | local_name!("table") | local_name!("template")
                )
        }
        Kind::IntegrationPoint => true,
        Kind::Foreign => open.name == local_name!("annotation-xml"),
        Kind::Html if *end == local_name!("p") && open.name == local_name!("button") => true,
        Kind::Html => matches!(
            open.name,
            local_name!("applet")
                | local_name!("caption")
                | local_name!("html")
                | local_name!("table")
                | local_name!("td")
                | local_name!("th")
                | local_name!("marquee")
                | local_name!("object")
                | local_name!("template")
        ),
    }
}

/// The HTML standard's "special" elements: a formatting element misnested
/// around one of them is moved out, not closed with it.
fn is_special(open: &Open) -> bool {
    match open.kind {
        Kind::IntegrationPoint => true,
        Kind::Foreign => open.name == local_name!("annotation-xml"),
        Kind::Html => {
            closes_a_paragraph(&open.name)
                || is_void(&open.name)
                || is_text_element(&open.name)
                || matches!(
                    open.name,
                    local_name!("applet")
                        | local_name!("body")
                        | local_name!("button")
                        | local_name!("caption")
                        | local_name!("colgroup")
                        | local_name!("frameset")
                        | local_name!("head")
                        | local_name!("html")
                        | local_name!("marquee")
                        | local_name!("object")
                        | local_name!("select")
                        | local_name!("tbody")
                        | local_name!("td")
                        | local_name!("template")
                        | local_name!("tfoot")
                        | local_name!("th")
                        | local_name!("thead")
                        | local_name!("tr")
                )
        }
    }
}

/// The elements whose content is text, not markup.
fn is_text_element(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("title")
            | local_name!("textarea")
            | local_name!("script")
            | local_name!("style")
            | local_name!("xmp")
            | local_name!("iframe")
            | local_name!("noembed")
            | local_name!("noframes")
            | local_name!("noscript")
            | local_name!("plaintext")
    )
}

/// The formatting elements a tree builder reopens after misnesting.
fn is_formatting(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("a")
            | local_name!("b")
            | local_name!("big")
            | local_name!("code")
            | local_name!("em")
            | local_name!("font")
            | local_name!("i")
            | local_name!("nobr")
            | local_name!("s")
            | local_name!("small")
            | local_name!("strike")
            | local_name!("strong")
            | local_name!("tt")
            | local_name!("u")
    )
}

/// The elements that formatting elements opened inside them do not outlive.
fn is_formatting_marker(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("applet")
            | local_name!("object")
            | local_name!("marquee")
            | local_name!("template")
            | local_name!("td")
            | local_name!("th")
            | local_name!("caption")
    )
}

/// For a table part, the elements (besides a table) it goes into.
fn table_context(name: &LocalName) -> Option<&'static [LocalName]> {
    static ROW_GROUPS: [LocalName; 3] = [
        local_name!("tbody"),
        local_name!("thead"),
        local_name!("tfoot"),
    ];
    static ROWS: [LocalName; 4] = [
        local_name!("tr"),
        local_name!("tbody"),
        local_name!("thead"),
        local_name!("tfoot"),
    ];
    match *name {
        local_name!("caption")
        | local_name!("colgroup")
        | local_name!("tbody")
        | local_name!("thead")
        | local_name!("tfoot") => Some(&[]),
        local_name!("tr") => Some(&ROW_GROUPS),
        local_name!("td") | local_name!("th") => Some(&ROWS),
        _ => None,
    }
}

/// The start tags before which closed formatting elements open again: those that
/// put content in the body, not the block and table structure.
fn reopens_formatting(name: &LocalName) -> bool {
    !closes_a_paragraph(name)
        && !matches!(
            *name,
            local_name!("caption")
                | local_name!("col")
                | local_name!("colgroup")
                | local_name!("tbody")
                | local_name!("td")
                | local_name!("tfoot")
                | local_name!("th")
                | local_name!("thead")
                | local_name!("tr")
                | local_name!("head")
                | local_name!("html")
                | local_name!("body")
                | local_name!("frameset")
                | local_name!("base")
                | local_name!("basefont")
                | local_name!("bgsound")
                | local_name!("link")
                | local_name!("meta")
                | local_name!("noframes")
                | local_name!("script")
                | local_name!("style")
                | local_name!("template")
                | local_name!("title")
        )
}

/// The start tags that close an open `<p>` first.
fn closes_a_paragraph(name: &LocalName) -> bool {
    is_heading(name)
        || matches!(
            *name,
            local_name!("address")
                | local_name!("article")
                | local_name!("aside")
                | local_name!("blockquote")
                | local_name!("center")
                | local_name!("details")
                | local_name!("dialog")
                | local_name!("dir")
                | local_name!("div")
                | local_name!("dl")
                | local_name!("fieldset")
                | local_name!("figcaption")
                | local_name!("figure")
                | local_name!("footer")
                | local_name!("header")
                | local_name!("hgroup")
                | local_name!("main")
                | local_name!("menu")
                | local_name!("nav")
                | local_name!("ol")
                | local_name!("p")
                | local_name!("section")
                | local_name!("summary")
                | local_name!("ul")
                | local_name!("pre")
                | local_name!("listing")
                | local_name!("form")
                | local_name!("plaintext")
                | local_name!("table")
                | local_name!("hr")
                | local_name!("xmp")
                | local_name!("li")
                | local_name!("dd")
                | local_name!("dt")
        )
}

fn is_heading(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("h1")
            | local_name!("h2")
            | local_name!("h3")
            | local_name!("h4")
            | local_name!("h5")
            | local_name!("h6")
    )
}

/// HTML elements that have no end tag and never contain anything.
fn is_void(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("area")
            | local_name!("base")
            | local_name!("basefont")
            | local_name!("bgsound")
            | local_name!("br")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("frame")
            | local_name!("hr")
            | local_name!("image")
            | local_name!("img")
            | local_name!("input")
            | local_name!("keygen")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("param")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
    )
}

/// The start tags that end `<svg>` or `<math>` content (the HTML standard's list
/// for "in foreign content").
fn breaks_out_of_foreign_content(tag: &Tag) -> bool {
    match tag.name {
        local_name!("b")
        | local_name!("big")
        | local_name!("blockquote")
        | local_name!("body")
        | local_name!("br")
        | local_name!("center")
        | local_name!("code")
        | local_name!("dd")
        | local_name!("div")
        | local_name!("dl")
        | local_name!("dt")
        | local_name!("em")
        | local_name!("embed")
        | local_name!("head")
        | local_name!("hr")
        | local_name!("i")
        | local_name!("img")
        | local_name!("li")
        | local_name!("listing")
        | local_name!("menu")
        | local_name!("meta")
        | local_name!("nobr")
        | local_name!("ol")
        | local_name!("p")
        | local_name!("pre")
        | local_name!("ruby")
        | local_name!("s")
        | local_name!("small")
        | local_name!("span")
        | local_name!("strong")
        | local_name!("strike")
        | local_name!("sub")
        | local_name!("sup")
        | local_name!("table")
        | local_name!("tt")
        | local_name!("u")
        | local_name!("ul")
        | local_name!("var") => true,
        _ if is_heading(&tag.name) => true,
        local_name!("font") => tag.attrs.iter().any(|attr| {
            matches!(
                attr.name.local,
                local_name!("color") | local_name!("face") | local_name!("size")
            )
        }),
        _ => false,
    }
}
