//! URLs as the crawler sees them: one canonical spelling per resource, and the
//! rule that decides which of them a crawl may fetch.
//!
//! Two spellings of the same page (`http://A.test:80/x/../y#top` and
//! `http://a.test/y`) must land on the same seen-set key, or the crawler fetches
//! the page twice and its politeness budget is spent on duplicates. So the
//! frontier does not accept a bare [`url::Url`]: it takes a [`CanonicalUrl`],
//! whose only constructors canonicalize. "Every URL that enters the frontier is
//! canonical" is then a fact the compiler checks, not a convention.
//!
//! [`Scope`] is the other gate: given the seeds and the user's allow/deny
//! patterns, it says whether a canonical URL belongs to this crawl.
//!
//! ```
//! use crawler_core::url::{CanonicalUrl, Scope, ScopeMode};
//!
//! let seed = CanonicalUrl::parse("HTTP://Example.test:80/docs/../")?;
//! assert_eq!(seed.as_str(), "http://example.test/");
//!
//! let scope = Scope::new(ScopeMode::Host, &[seed.clone()], vec![], vec![]);
//! let link = CanonicalUrl::join(seed.as_url(), "/a%7eb?q=1#frag")?;
//! assert_eq!(link.as_str(), "http://example.test/a~b?q=1");
//! assert!(scope.admits(&link));
//! # Ok::<(), crawler_core::url::UrlError>(())
//! ```
//!
//! This module does no I/O: no DNS, no redirects, no robots.txt. Those are
//! decided elsewhere, on top of the canonical form defined here.

mod canonical;
mod name_set;
mod scope;

pub use canonical::{CanonicalUrl, HostKey, UrlError, MAX_URL_LEN};
pub use name_set::NameSet;
pub use scope::{Scope, ScopeMode, ScopeModeError, SharedScopeKeys};
