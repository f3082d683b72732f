//! The lean tree link extraction parses into: html5ever's full tree-building
//! algorithm, but a tree that keeps only what [`super::links`] reads.
//!
//! Why not `scraper`'s DOM: every text node was copied into a tendril, every
//! element's attributes sorted into a map, its classes and id parsed, all to be read
//! once and dropped. Side by side (BENCHMARKS.md), extraction with this tree takes
//! 15-28% less time on a typical page, and 40 MB instead of 94 MB on a 5.8 MB page
//! of nothing but links. Here a node is a few indices in one
//! `Vec`; attributes are kept only for the elements that carry links or metadata,
//! and text only inside HTML `<title>`s. The tree builder still moves, reparents
//! and foster-parents nodes exactly as for any other sink, so document order and
//! `<template>` contents come out as a browser has them.
//!
//! The sink also meters the parse (see [`super::budget`]): every node placed
//! costs the depth it lands at, every parse error the depth of the last one.

use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};

use html5ever::tendril::StrTendril;
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{local_name, ns, Attribute, QualName};

use super::budget::Metered;

/// A node's index in [`LinkTree::nodes`].
pub(crate) type NodeId = u32;

/// No node (a missing parent, child or sibling).
const NONE: NodeId = NodeId::MAX;

/// The document node, always first.
const DOCUMENT: NodeId = 0;

/// One node. Everything that is not an element (the document, comments,
/// doctypes, template contents) has no name; text is not a node at all.
struct Node {
    parent: NodeId,
    first_child: NodeId,
    last_child: NodeId,
    previous: NodeId,
    next: NodeId,
    /// Depth where the node was last placed, for metering.
    depth: u32,
    /// Empty for a node that is not an element.
    name: QualName,
    element: bool,
    /// Index in [`LinkTree::kept`], or [`NONE`].
    kept: u32,
    template_contents: NodeId,
    annotation_xml_integration_point: bool,
}

impl Node {
    fn new(name: Option<QualName>) -> Node {
        let element = name.is_some();
        Node {
            parent: NONE,
            first_child: NONE,
            last_child: NONE,
            previous: NONE,
            next: NONE,
            depth: 0,
            name: name.unwrap_or_else(|| QualName::new(None, ns!(), local_name!(""))),
            element,
            kept: NONE,
            template_contents: NONE,
            annotation_xml_integration_point: false,
        }
    }
}

/// What is kept of an element [`keeps`] names.
#[derive(Default)]
struct Kept {
    attrs: Vec<Attribute>,
    /// Text appended directly to the element (an HTML `<title>` holds only text).
    text: String,
}

/// Elements whose attributes or text [`super::links`] reads, by local name.
fn keeps(name: &QualName) -> bool {
    matches!(
        name.local,
        local_name!("a")
            | local_name!("area")
            | local_name!("link")
            | local_name!("iframe")
            | local_name!("frame")
            | local_name!("base")
            | local_name!("meta")
            | local_name!("title")
    )
}

/// The parsed page, as the tree sink html5ever builds into.
pub(crate) struct LinkTree {
    nodes: RefCell<Vec<Node>>,
    kept: RefCell<Vec<Kept>>,
    /// Depth of the last node placed: roughly the parser's stack depth.
    last_depth: Cell<u32>,
    work: Cell<u64>,
}

/// An element of a finished [`LinkTree`], as a walk visits it.
pub(crate) struct Element<'a> {
    pub(crate) name: &'a QualName,
    attrs: &'a [Attribute],
    text: &'a str,
}

impl<'a> Element<'a> {
    /// The value of the attribute `name` (no namespace), if present.
    pub(crate) fn attr(&self, name: &str) -> Option<&'a str> {
        self.attrs
            .iter()
            .find(|attr| attr.name.ns == ns!() && &*attr.name.local == name)
            .map(|attr| &*attr.value)
    }

    /// The text appended to the element, unchanged (kept for `<title>`s only).
    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// Whether the element is in the HTML namespace.
    pub(crate) fn is_html(&self) -> bool {
        self.name.ns == ns!(html)
    }
}

impl LinkTree {
    pub(crate) fn new() -> LinkTree {
        LinkTree {
            nodes: RefCell::new(vec![Node::new(None)]),
            kept: RefCell::new(Vec::new()),
            last_depth: Cell::new(0),
            work: Cell::new(0),
        }
    }

    fn push(&self, node: Node) -> NodeId {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(node);
        // Ids past u32 would take a page of hundreds of gigabytes.
        NodeId::try_from(nodes.len() - 1).unwrap_or(NONE)
    }

    /// Charges placing a node at `depth` and records the depth.
    fn placed(&self, node: Option<NodeId>, depth: u32) {
        self.work
            .set(self.work.get().saturating_add(u64::from(depth).max(1)));
        if let Some(node) = node {
            if let Some(node) = self.nodes.borrow_mut().get_mut(node as usize) {
                node.depth = depth;
            }
            self.last_depth.set(depth);
        }
    }

    fn depth(&self, node: NodeId) -> u32 {
        self.nodes
            .borrow()
            .get(node as usize)
            .map_or(0, |n| n.depth)
    }

    fn parent(&self, node: NodeId) -> NodeId {
        self.nodes
            .borrow()
            .get(node as usize)
            .map_or(NONE, |n| n.parent)
    }

    /// Places a node (detached first, then `attach`ed) or text (appended to
    /// `parent`) at `depth`.
    fn place(
        &self,
        child: NodeOrText<NodeId>,
        parent: NodeId,
        depth: u32,
        attach: impl FnOnce(&mut [Node], NodeId),
    ) {
        match child {
            NodeOrText::AppendNode(child) => {
                {
                    let mut nodes = self.nodes.borrow_mut();
                    LinkTree::detach(&mut nodes, child);
                    attach(&mut nodes, child);
                }
                self.placed(Some(child), depth);
            }
            NodeOrText::AppendText(text) => {
                self.append_text(parent, &text);
                self.placed(None, depth);
            }
        }
    }

    /// Appends text to `parent` if it is an element that keeps text.
    fn append_text(&self, parent: NodeId, text: &str) {
        let nodes = self.nodes.borrow();
        let Some(node) = nodes.get(parent as usize) else {
            return;
        };
        let is_title = node.name.expanded() == html5ever::expanded_name!(html "title");
        if is_title {
            if let Some(kept) = self.kept.borrow_mut().get_mut(node.kept as usize) {
                kept.text.push_str(text);
            }
        }
    }

    /// Takes `node` out of its parent's children.
    fn detach(nodes: &mut [Node], node: NodeId) {
        let Some(&Node {
            parent,
            previous,
            next,
            ..
        }) = nodes.get(node as usize)
        else {
            return;
        };
        if let Some(previous) = nodes.get_mut(previous as usize) {
            previous.next = next;
        } else if let Some(parent) = nodes.get_mut(parent as usize) {
            parent.first_child = next;
        }
        if let Some(next) = nodes.get_mut(next as usize) {
            next.previous = previous;
        } else if let Some(parent) = nodes.get_mut(parent as usize) {
            parent.last_child = previous;
        }
        if let Some(node) = nodes.get_mut(node as usize) {
            node.parent = NONE;
            node.previous = NONE;
            node.next = NONE;
        }
    }

    /// Makes `child` (detached) the last child of `parent`.
    fn attach_last(nodes: &mut [Node], parent: NodeId, child: NodeId) {
        let Some(last) = nodes.get(parent as usize).map(|p| p.last_child) else {
            return;
        };
        if let Some(node) = nodes.get_mut(child as usize) {
            node.parent = parent;
            node.previous = last;
            node.next = NONE;
        }
        match nodes.get_mut(last as usize) {
            Some(last) => last.next = child,
            None => {
                if let Some(parent) = nodes.get_mut(parent as usize) {
                    parent.first_child = child;
                }
            }
        }
        if let Some(parent) = nodes.get_mut(parent as usize) {
            parent.last_child = child;
        }
    }

    /// Puts `child` (detached) right before `sibling`, under its parent.
    fn attach_before(nodes: &mut [Node], sibling: NodeId, child: NodeId) {
        let Some(&Node {
            parent, previous, ..
        }) = nodes.get(sibling as usize)
        else {
            return;
        };
        if let Some(node) = nodes.get_mut(child as usize) {
            node.parent = parent;
            node.previous = previous;
            node.next = sibling;
        }
        if let Some(node) = nodes.get_mut(sibling as usize) {
            node.previous = child;
        }
        match nodes.get_mut(previous as usize) {
            Some(previous) => previous.next = child,
            None => {
                if let Some(parent) = nodes.get_mut(parent as usize) {
                    parent.first_child = child;
                }
            }
        }
    }
}

/// A parsed page: what [`LinkTree::finish`] leaves for the walk.
pub(crate) struct LinkDocument {
    nodes: Vec<Node>,
    kept: Vec<Kept>,
}

impl LinkDocument {
    /// Visits every element in document order, without recursion, skipping
    /// template contents (they are not children). `visit` returns whether to
    /// descend into the element's children.
    pub(crate) fn walk<'a>(&'a self, mut visit: impl FnMut(Element<'a>) -> bool) {
        let nodes = &self.nodes[..];
        let mut next = nodes.first().map_or(NONE, |document| document.first_child);
        while let Some(node) = nodes.get(next as usize) {
            let descend = !node.element || {
                let (attrs, text) = self
                    .kept
                    .get(node.kept as usize)
                    .map_or((&[][..], ""), |k| (&k.attrs[..], &k.text[..]));
                visit(Element {
                    name: &node.name,
                    attrs,
                    text,
                })
            };
            next = if descend && node.first_child != NONE {
                node.first_child
            } else {
                following(nodes, node)
            };
        }
    }
}

/// The node after `node`'s subtree in document order: its next sibling, or
/// the next sibling of its nearest ancestor that has one.
fn following(nodes: &[Node], node: &Node) -> NodeId {
    let mut current = node;
    loop {
        if current.next != NONE {
            return current.next;
        }
        match nodes.get(current.parent as usize) {
            Some(parent) => current = parent,
            None => return NONE,
        }
    }
}

impl Metered for LinkTree {
    fn work(&self) -> u64 {
        self.work.get()
    }
}

impl TreeSink for LinkTree {
    type Handle = NodeId;
    type Output = LinkDocument;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> LinkDocument {
        LinkDocument {
            nodes: self.nodes.into_inner(),
            kept: self.kept.into_inner(),
        }
    }

    /// Not kept (a hostile page can make millions), only charged.
    fn parse_error(&self, _msg: Cow<'static, str>) {
        let cost = u64::from(self.last_depth.get()).max(1);
        self.work.set(self.work.get().saturating_add(cost));
    }

    fn get_document(&self) -> NodeId {
        DOCUMENT
    }

    fn elem_name<'a>(&'a self, target: &'a NodeId) -> Ref<'a, QualName> {
        // The tree builder asks only about elements, which it got from us.
        Ref::map(self.nodes.borrow(), |nodes| {
            match nodes.get(*target as usize) {
                Some(node) => &node.name,
                None => &nodes[DOCUMENT as usize].name,
            }
        })
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> NodeId {
        let mut node = Node::new(None);
        node.annotation_xml_integration_point = flags.mathml_annotation_xml_integration_point;
        if keeps(&name) {
            let mut kept = self.kept.borrow_mut();
            node.kept = u32::try_from(kept.len()).unwrap_or(NONE);
            kept.push(Kept {
                attrs,
                text: String::new(),
            });
        }
        if flags.template {
            node.template_contents = self.push(Node::new(None));
        }
        node.name = name;
        node.element = true;
        self.push(node)
    }

    fn create_comment(&self, _text: StrTendril) -> NodeId {
        self.push(Node::new(None))
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> NodeId {
        self.push(Node::new(None))
    }

    fn append(&self, parent: &NodeId, child: NodeOrText<NodeId>) {
        let depth = self.depth(*parent).saturating_add(1);
        self.place(child, *parent, depth, |nodes, child| {
            LinkTree::attach_last(nodes, *parent, child);
        });
    }

    fn append_based_on_parent_node(
        &self,
        element: &NodeId,
        prev_element: &NodeId,
        child: NodeOrText<NodeId>,
    ) {
        if self.parent(*element) != NONE {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }

    fn append_doctype_to_document(
        &self,
        _name: StrTendril,
        _public: StrTendril,
        _system: StrTendril,
    ) {
        let doctype = self.push(Node::new(None));
        LinkTree::attach_last(&mut self.nodes.borrow_mut(), DOCUMENT, doctype);
    }

    fn get_template_contents(&self, target: &NodeId) -> NodeId {
        let contents = self
            .nodes
            .borrow()
            .get(*target as usize)
            .map_or(NONE, |n| n.template_contents);
        let depth = self.depth(*target).saturating_add(1);
        if let Some(node) = self.nodes.borrow_mut().get_mut(contents as usize) {
            node.depth = depth;
        }
        contents
    }

    fn same_node(&self, x: &NodeId, y: &NodeId) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &NodeId, new_node: NodeOrText<NodeId>) {
        let depth = self.depth(*sibling);
        self.place(new_node, self.parent(*sibling), depth, |nodes, child| {
            LinkTree::attach_before(nodes, *sibling, child);
        });
    }

    fn add_attrs_if_missing(&self, target: &NodeId, attrs: Vec<Attribute>) {
        let index = self.nodes.borrow().get(*target as usize).map(|n| n.kept);
        let mut kept = self.kept.borrow_mut();
        if let Some(kept) = index.and_then(|i| kept.get_mut(i as usize)) {
            for attr in attrs {
                if !kept.attrs.iter().any(|a| a.name == attr.name) {
                    kept.attrs.push(attr);
                }
            }
        }
    }

    fn remove_from_parent(&self, target: &NodeId) {
        LinkTree::detach(&mut self.nodes.borrow_mut(), *target);
    }

    fn reparent_children(&self, node: &NodeId, new_parent: &NodeId) {
        let mut nodes = self.nodes.borrow_mut();
        let mut child = nodes.get(*node as usize).map_or(NONE, |n| n.first_child);
        while child != NONE {
            let next = nodes.get(child as usize).map_or(NONE, |n| n.next);
            LinkTree::detach(&mut nodes, child);
            LinkTree::attach_last(&mut nodes, *new_parent, child);
            child = next;
        }
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &NodeId) -> bool {
        self.nodes
            .borrow()
            .get(*handle as usize)
            .is_some_and(|n| n.annotation_xml_integration_point)
    }
}
