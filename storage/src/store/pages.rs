//! Reading one page back: its record and its other parts (body, outlinks, HTTP heads),
//! each from the body log through the pointers its sled value holds.

use super::Store;
use crate::codec::history;
use crate::codec::json::from_json;
use crate::codec::keys::{self, url_key};
use crate::codec::page_value::{self, Parts};
use crate::codec::part;
use crate::files::body_log::BodyPointer;
use crate::index::inlinks::InlinkIndex;
use crate::record::{HttpExchange, PageRecord, Visit};
use crate::rendering::Rendering;
use crate::StoreError;

impl Store {
    /// The record of one URL (exact canonical spelling).
    pub fn page(&self, url: &str) -> Result<Option<PageRecord>, StoreError> {
        Ok(self.page_and_parts(url)?.map(|(page, _)| page))
    }

    /// The record of one URL as the writer last applied it, without waiting for the
    /// writer: what a worker reads before revisiting a URL, whose record an earlier
    /// run wrote (a run's revisits are queued after a flush).
    pub fn applied_page(&self, url: &str) -> Result<Option<PageRecord>, StoreError> {
        let key = url_key(keys::PAGE, url);
        self.tree
            .get(&key)?
            .map(|value| page_value::record(&key, &value, &self.bodies))
            .transpose()
    }

    /// The record of one URL and where its parts are.
    pub(crate) fn page_and_parts(
        &self,
        url: &str,
    ) -> Result<Option<(PageRecord, Parts)>, StoreError> {
        let key = url_key(keys::PAGE, url);
        self.tree()
            .get(&key)?
            .map(|value| page_value::record_and_parts(&key, &value, &self.bodies))
            .transpose()
    }

    /// Where the parts of one URL's page are (nothing when it has no record), without
    /// decoding the record.
    fn parts(&self, url: &str) -> Result<Parts, StoreError> {
        let key = url_key(keys::PAGE, url);
        match self.tree().get(&key)? {
            Some(value) => Ok(page_value::decode(&key, &value)?.0),
            None => Ok(Parts::default()),
        }
    }

    /// One part of a page, read from the body log and decoded.
    pub(crate) fn part(
        &self,
        url: &str,
        part: Option<BodyPointer>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        part.map(|pointer| {
            let framed = self.bodies.read(pointer).map_err(|e| e.of_page(url))?;
            part::decode(url, &framed)
        })
        .transpose()
    }

    /// The stored body of one URL.
    pub fn body(&self, url: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.part(url, self.parts(url)?.body)
    }

    /// What the rendering of one URL found (`crate::rendering`); `None` when it was
    /// not rendered.
    pub fn rendering(&self, url: &str) -> Result<Option<Rendering>, StoreError> {
        self.rendering_at(url, self.parts(url)?)
    }

    pub(crate) fn rendering_at(
        &self,
        url: &str,
        parts: Parts,
    ) -> Result<Option<Rendering>, StoreError> {
        let Some(json) = self.part(url, parts.rendering.map(|(found, _)| found))? else {
            return Ok(None);
        };
        from_json(url_key(keys::PAGE, url).as_slice(), &json).map(Some)
    }

    /// The DOM of one URL as rendered (`crawl --render`); `None` when it was not
    /// rendered.
    pub fn rendered_body(&self, url: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.part(url, self.parts(url)?.rendering.map(|(_, dom)| dom))
    }

    /// The HTTP request and response head stored for one URL.
    pub fn exchange(&self, url: &str) -> Result<Option<HttpExchange>, StoreError> {
        self.exchange_at(url, self.parts(url)?.exchange)
    }

    pub(crate) fn exchange_at(
        &self,
        url: &str,
        part: Option<BodyPointer>,
    ) -> Result<Option<HttpExchange>, StoreError> {
        let Some(json) = self.part(url, part)? else {
            return Ok(None);
        };
        from_json(url_key(keys::PAGE, url).as_slice(), &json).map(Some)
    }

    /// The outlinks of one URL (empty when it has none or is unknown).
    pub fn outlinks(&self, url: &str) -> Result<Vec<String>, StoreError> {
        self.outlinks_at(url, self.parts(url)?.outlinks)
    }

    pub(crate) fn outlinks_at(
        &self,
        url: &str,
        part: Option<BodyPointer>,
    ) -> Result<Vec<String>, StoreError> {
        let Some(text) = self.part(url, part)? else {
            return Ok(Vec::new());
        };
        let text = String::from_utf8(text).map_err(|e| StoreError::Corrupt {
            key: url.to_owned(),
            reason: format!("outlinks are not UTF-8: {e}"),
        })?;
        Ok(text.split('\n').map(str::to_owned).collect())
    }

    /// Whether the stored outlinks of `source` contain `target`: the check that turns
    /// an inlink candidate into an inlink.
    /// Its rendering's links count too.
    pub(crate) fn links_to(&self, source: &str, target: &str) -> Result<bool, StoreError> {
        let parts = self.parts(source)?;
        if let Some(text) = self.part(source, parts.outlinks)? {
            if text
                .split(|b| *b == b'\n')
                .any(|line| line == target.as_bytes())
            {
                return Ok(true);
            }
        }
        Ok(
            (self.rendering_at(source, parts)?)
                .is_some_and(|r| r.links.iter().any(|l| l == target)),
        )
    }

    /// The HTTP heads of the last visit of one URL when it kept an earlier visit's
    /// content (a 304, or the same payload): what a WARC `revisit` record holds. `None`
    /// when the last visit brought the stored content ([`Store::exchange`]).
    pub fn visit_exchange(&self, url: &str) -> Result<Option<HttpExchange>, StoreError> {
        self.exchange_at(url, self.parts(url)?.visit)
    }

    /// Every visit of one URL the store knows, newest first: its record's, then the
    /// ones before it (at most `limit`). Empty for an unknown URL.
    pub fn history(&self, url: &str, limit: usize) -> Result<Vec<Visit>, StoreError> {
        let Some((page, parts)) = self.page_and_parts(url)? else {
            return Ok(Vec::new());
        };
        let mut visits = vec![Visit {
            body_kept: parts.body.is_some() && page.captured_ms.is_none(),
            ..Visit::of(&page)
        }];
        let mut next = parts.history;
        let mut kept: Option<Vec<u64>> = None;
        while let Some(pointer) = next.filter(|_| visits.len() < limit) {
            let framed = self.bodies.read(pointer).map_err(|e| e.of_page(url))?;
            let link = history::decode(url, &framed)?;
            // The newest link's list of kept bodies is the one that holds.
            let kept = kept.get_or_insert_with(|| link.versions.iter().map(|v| v.0).collect());
            let at = link.visit.fetched_at_ms;
            visits.push(Visit {
                body_kept: kept.contains(&at)
                    || (page.captured_at_ms() == at && parts.body.is_some()),
                ..link.visit
            });
            next = link.older.map(Into::into);
        }
        Ok(visits)
    }

    /// The body one URL had as captured at `captured_at_ms` (ms): the current one, or
    /// an earlier one kept by `--keep-versions`.
    pub fn version(&self, url: &str, captured_at_ms: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let Some((page, parts)) = self.page_and_parts(url)? else {
            return Ok(None);
        };
        if page.captured_at_ms() == captured_at_ms {
            return self.part(url, parts.body);
        }
        let Some(pointer) = parts.history else {
            return Ok(None);
        };
        let framed = self.bodies.read(pointer).map_err(|e| e.of_page(url))?;
        let link = history::decode(url, &framed)?;
        let found = link.versions.iter().find(|(at, _)| *at == captured_at_ms);
        self.part(url, found.map(|(_, place)| (*place).into()))
    }

    pub(crate) fn inlink_index(&self) -> &InlinkIndex {
        &self.inlinks
    }

    #[cfg(test)]
    pub(crate) fn inlink_index_mut(&mut self) -> &mut InlinkIndex {
        &mut self.inlinks
    }
}

#[cfg(test)]
mod tests {
    use crate::codec::keys;
    use crate::rendering::{Rendering, Settled};
    use crate::{PageRecord, PageWrite, RenderingWrite, Store, StoreOptions, FORMAT_VERSION};

    fn page(url: &str) -> PageRecord {
        PageRecord {
            status: Some(200),
            outlinks: 1,
            ..PageRecord::new(url, "a.test", 0)
        }
    }

    fn rendering(links: &[&str]) -> Rendering {
        Rendering {
            settled: Settled::RenderTimeout,
            message: Some("not settled".into()),
            rendered_at_ms: 7,
            title: Some("App".into()),
            bytes: 12,
            links: links.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    #[test]
    fn a_rendering_is_a_part_of_its_page_counted_once_and_read_back_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let root = page("http://a.test/");
        let found = rendering(&["http://a.test/next", "http://a.test/js-only"]);
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            let outlinks = ["http://a.test/next".to_owned()];
            store
                .write_page(&PageWrite {
                    page: Some(&root),
                    body: Some(b"<div id=app>"),
                    outlinks: &outlinks,
                    ..PageWrite::default()
                })
                .unwrap();
            store
                .write_page(&PageWrite {
                    rendering: Some(RenderingWrite {
                        url: &root.url,
                        rendering: &found,
                        dom: b"<div id=app><a href=/js-only>",
                    }),
                    ..PageWrite::default()
                })
                .unwrap();
            let missing = store.write_page(&PageWrite {
                rendering: Some(RenderingWrite {
                    url: "http://a.test/never",
                    rendering: &found,
                    dom: b"",
                }),
                ..PageWrite::default()
            });
            let message = missing.err().unwrap().to_string();
            assert!(message.contains("http://a.test/never"), "{message}");
        }
        let store = Store::open(dir.path(), StoreOptions::read_only()).unwrap();
        assert_eq!(store.page(&root.url).unwrap().as_ref(), Some(&root));
        assert_eq!(store.body(&root.url).unwrap().unwrap(), b"<div id=app>");
        assert_eq!(store.rendering(&root.url).unwrap(), Some(found));
        assert_eq!(
            store.rendered_body(&root.url).unwrap().unwrap(),
            b"<div id=app><a href=/js-only>"
        );
        assert_eq!(store.stats().unwrap().urls, 1);
        assert_eq!(store.pages().count(), 1);
        let inlinks: Vec<String> = (store.inlinks("http://a.test/js-only"))
            .map(Result::unwrap)
            .collect();
        assert_eq!(inlinks, [root.url.as_str()]);
        drop(store);
        let report = Store::check(dir.path(), &|_| None).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.pages, 1);
    }

    #[test]
    fn a_format_12_store_with_a_rendering_record_of_its_own_still_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        // What a format 12 build wrote: the rendering as the record `URL#rendered`.
        let old = PageRecord {
            error: Some("render-timeout".into()),
            ..page("http://a.test/#rendered")
        };
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            for record in [&page("http://a.test/"), &old] {
                store
                    .write_page(&PageWrite {
                        page: Some(record),
                        body: Some(b"<html>"),
                        ..PageWrite::default()
                    })
                    .unwrap();
            }
            store.flush().unwrap();
            store.tree.insert(keys::meta_key("format"), b"12").unwrap();
        }
        let reader = Store::open(dir.path(), StoreOptions::read_only()).unwrap();
        assert_eq!(reader.page(&old.url).unwrap().as_ref(), Some(&old));
        assert_eq!(reader.rendering("http://a.test/").unwrap(), None);
        drop(reader);
        let writer = Store::open(dir.path(), StoreOptions::existing()).unwrap();
        let format = writer.tree.get(keys::meta_key("format")).unwrap();
        assert_eq!(
            format.as_deref(),
            Some(FORMAT_VERSION.to_string().as_bytes())
        );
        assert_eq!(writer.page(&old.url).unwrap().as_ref(), Some(&old));
    }
}
