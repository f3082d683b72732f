//! Parsing HTML into a tree with a bounded amount of work: the `scraper` tree a
//! page handler asks for ([`crate::hooks`]). Link extraction builds no tree
//! ([`super::tag_scan`]) and needs no budget.
//!
//! html5ever does work proportional to the depth of its stack of open elements for
//! many tokens (a start tag checks "has a `p` element in button scope", an unknown
//! end tag walks the stack), so a page of 100,000 nested `<div>`s (500 KB) costs
//! quadratic time: 50,000 of them take 5 s in a release build, 100,000 four times
//! that. Browsers cap the depth (Chromium nests at most 512 elements); we cap the
//! work instead, which bounds deep pages and huge flat ones alike.
//!
//! The parser is fed the text in 4 KiB pieces through a tree sink that wraps
//! `scraper`'s and charges each appended node the depth of its parent (and each parse
//! error the depth of the last insertion, for the stack walks that create nothing).
//! When the charge passes the page's budget ([`parse_budget`]: a million units plus
//! two per byte), no more text is fed: the document ends there, as if the page had
//! been cut, and [`parse_bounded`] says where. So parse time grows linearly with the
//! page's size whatever its shape. A typical page (2,000 elements at depth 20) costs
//! 40,000 units; 10 MB of ordinary HTML (200,000 elements at depth 30) about 6
//! million of its 21 million; 100,000 nested `<div>`s (500 KB) are cut after about
//! 2,000 of them. A unit costs about 11 ns in a release build.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, PoisonError};

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, QualName};
use scraper::{Html, HtmlTreeSink};

/// Work units (see the module docs) any page may cost before parsing stops...
pub const PARSE_WORK_BASE: u64 = 1_000_000;

/// ...plus this many per byte of its text: parse time stays linear in page size.
pub const PARSE_WORK_PER_BYTE: u64 = 2;

/// Bytes of text fed to the parser at once; the budget is checked between pieces.
const PIECE: usize = 4 * 1024;

/// Pages with more text than this are parsed at most [`BIG_PARSES`] at a time.
///
/// A page of nothing but links takes about three and a half times its size for link
/// extraction (6 MB of `<a href>`s peaked at 21 MB: the links as written, until
/// they are resolved), and sixteen times in a page handler's `scraper` tree (94 MB),
/// so sixteen workers reading 10 MB pages at once could hold gigabytes; with the
/// permits, big pages cost at most [`BIG_PARSES`] of these at once while small
/// pages never wait.
pub const BIG_PAGE: usize = 1 << 20;

/// Big pages parsed at once, process-wide.
pub const BIG_PARSES: usize = 2;

/// A permit to parse a big page; given back when dropped.
pub(crate) struct BigParse(());

static BIG_PARSES_RUNNING: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

impl BigParse {
    /// Waits for a permit when the text is longer than [`BIG_PAGE`]; `None` (no
    /// wait) for a smaller page.
    pub(crate) fn for_text(len: usize) -> Option<BigParse> {
        if len <= BIG_PAGE {
            return None;
        }
        let (running, freed) = &BIG_PARSES_RUNNING;
        let mut running = running.lock().unwrap_or_else(PoisonError::into_inner);
        while *running >= BIG_PARSES {
            running = freed.wait(running).unwrap_or_else(PoisonError::into_inner);
        }
        *running += 1;
        Some(BigParse(()))
    }
}

impl Drop for BigParse {
    fn drop(&mut self) {
        let (running, freed) = &BIG_PARSES_RUNNING;
        let mut running = running.lock().unwrap_or_else(PoisonError::into_inner);
        *running = running.saturating_sub(1);
        freed.notify_one();
    }
}

type Handle = <HtmlTreeSink as TreeSink>::Handle;

/// Parses `html` as a document; stops feeding it once the work budget is spent.
///
/// Returns the document and, when parsing stopped early, how many bytes of `html`
/// had been fed (a char boundary).
pub fn parse_bounded(html: &str) -> (Html, Option<usize>) {
    parse_with_budget(html, parse_budget(html.len()))
}

/// The work a page of `len` bytes may cost: [`PARSE_WORK_BASE`] plus
/// [`PARSE_WORK_PER_BYTE`] per byte.
pub fn parse_budget(len: usize) -> u64 {
    PARSE_WORK_BASE.saturating_add(PARSE_WORK_PER_BYTE.saturating_mul(len as u64))
}

/// Parses `html`, feeding it in pieces until the parse's work passes `budget`;
/// returns the document and where feeding stopped, if it did.
pub(crate) fn parse_with_budget(html: &str, budget: u64) -> (Html, Option<usize>) {
    let mut parser = html5ever::parse_document(BudgetSink::new(), html5ever::ParseOpts::default());
    let mut fed = 0;
    let mut cut_at = None;
    while fed < html.len() {
        if parser.tokenizer.sink.sink.work.get() > budget {
            cut_at = Some(fed);
            break;
        }
        let mut end = (fed + PIECE).min(html.len());
        while !html.is_char_boundary(end) {
            end += 1;
        }
        parser.process(StrTendril::from_slice(&html[fed..end]));
        fed = end;
    }
    (parser.finish(), cut_at)
}

/// `scraper`'s sink, plus the depth of every node and the work charged so far.
struct BudgetSink {
    inner: HtmlTreeSink,
    depths: RefCell<HashMap<Handle, u32>>,
    /// Depth of the last node appended: roughly the parser's stack depth.
    last_depth: Cell<u32>,
    work: Cell<u64>,
}

impl BudgetSink {
    fn new() -> BudgetSink {
        BudgetSink {
            inner: HtmlTreeSink::new(Html::new_document()),
            depths: RefCell::new(HashMap::new()),
            last_depth: Cell::new(0),
            work: Cell::new(0),
        }
    }

    fn depth(&self, node: &Handle) -> u32 {
        self.depths.borrow().get(node).copied().unwrap_or(0)
    }

    /// Records that `child` now sits at `depth`, charging the walk to get there.
    fn placed(&self, child: &NodeOrText<Handle>, depth: u32) {
        self.work
            .set(self.work.get().saturating_add(u64::from(depth).max(1)));
        if let NodeOrText::AppendNode(node) = child {
            self.depths.borrow_mut().insert(*node, depth);
            self.last_depth.set(depth);
        }
    }
}

impl TreeSink for BudgetSink {
    type Handle = Handle;
    type Output = Html;
    type ElemName<'a> = <HtmlTreeSink as TreeSink>::ElemName<'a>;

    fn finish(self) -> Html {
        self.inner.finish()
    }

    /// Not kept (a hostile page can make millions), only charged.
    fn parse_error(&self, _msg: Cow<'static, str>) {
        let cost = u64::from(self.last_depth.get()).max(1);
        self.work.set(self.work.get().saturating_add(cost));
    }

    fn get_document(&self) -> Handle {
        self.inner.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a Handle) -> Self::ElemName<'a> {
        self.inner.elem_name(target)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> Handle {
        self.inner.create_element(name, attrs, flags)
    }

    fn create_comment(&self, text: StrTendril) -> Handle {
        self.inner.create_comment(text)
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> Handle {
        self.inner.create_pi(target, data)
    }

    fn append(&self, parent: &Handle, child: NodeOrText<Handle>) {
        self.placed(&child, self.depth(parent).saturating_add(1));
        self.inner.append(parent, child);
    }

    fn append_based_on_parent_node(
        &self,
        element: &Handle,
        prev_element: &Handle,
        child: NodeOrText<Handle>,
    ) {
        self.placed(&child, self.depth(element));
        self.inner
            .append_based_on_parent_node(element, prev_element, child);
    }

    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.inner
            .append_doctype_to_document(name, public_id, system_id);
    }

    fn mark_script_already_started(&self, node: &Handle) {
        self.inner.mark_script_already_started(node);
    }

    fn pop(&self, node: &Handle) {
        self.inner.pop(node);
    }

    fn get_template_contents(&self, target: &Handle) -> Handle {
        let contents = self.inner.get_template_contents(target);
        let depth = self.depth(target).saturating_add(1);
        self.depths.borrow_mut().insert(contents, depth);
        contents
    }

    fn same_node(&self, x: &Handle, y: &Handle) -> bool {
        self.inner.same_node(x, y)
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode);
    }

    fn append_before_sibling(&self, sibling: &Handle, new_node: NodeOrText<Handle>) {
        self.placed(&new_node, self.depth(sibling));
        self.inner.append_before_sibling(sibling, new_node);
    }

    fn add_attrs_if_missing(&self, target: &Handle, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs);
    }

    fn associate_with_form(
        &self,
        target: &Handle,
        form: &Handle,
        nodes: (&Handle, Option<&Handle>),
    ) {
        self.inner.associate_with_form(target, form, nodes);
    }

    fn remove_from_parent(&self, target: &Handle) {
        self.inner.remove_from_parent(target);
    }

    fn reparent_children(&self, node: &Handle, new_parent: &Handle) {
        self.inner.reparent_children(node, new_parent);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Handle) -> bool {
        self.inner
            .is_mathml_annotation_xml_integration_point(handle)
    }

    fn set_current_line(&self, line_number: u64) {
        self.inner.set_current_line(line_number);
    }

    fn allow_declarative_shadow_roots(&self, intended_parent: &Handle) -> bool {
        self.inner.allow_declarative_shadow_roots(intended_parent)
    }

    fn attach_declarative_shadow(
        &self,
        location: &Handle,
        template: &Handle,
        attrs: &[Attribute],
    ) -> bool {
        self.inner
            .attach_declarative_shadow(location, template, attrs)
    }

    fn maybe_clone_an_option_into_selectedcontent(&self, option: &Handle) {
        self.inner
            .maybe_clone_an_option_into_selectedcontent(option);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn ordinary_pages_parse_whole() {
        let page = "<title>t</title><p>hello <a href=/x>x</a></p>".repeat(5_000);
        let (document, cut) = parse_bounded(&page);
        assert_eq!(cut, None);
        let direct = Html::parse_document(&page);
        assert_eq!(document.root_element().html(), direct.root_element().html());
    }

    #[test]
    fn deep_nesting_is_cut_quickly() {
        let page = format!(
            "<a href=/top>t</a>{}<a href=/bottom>b</a>",
            "<div>".repeat(100_000)
        );
        let (document, cut) = parse_bounded(&page);
        let cut = cut.expect("the budget runs out");
        assert!(cut < page.len() / 2, "cut at {cut}");
        assert!(document.root_element().html().contains("/top"));
    }

    #[test]
    fn big_pages_are_parsed_a_few_at_a_time() {
        assert!(BigParse::for_text(BIG_PAGE).is_none());
        let started = Instant::now();
        let threads: Vec<_> = (0..BIG_PARSES + 1)
            .map(|_| {
                std::thread::spawn(|| {
                    let permit = BigParse::for_text(BIG_PAGE + 1);
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    drop(permit);
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // One more than the permits: someone waited for a permit to come back.
        assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    }

    #[test]
    fn a_small_budget_cuts_on_a_char_boundary() {
        let page = "<p>é€😀</p>".repeat(10_000);
        let (_, cut) = parse_with_budget(&page, 1_000);
        let cut = cut.expect("cut");
        assert!(page.is_char_boundary(cut));
    }
}
