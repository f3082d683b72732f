//! Proxies: the environment's (`env.rs`: `ALL_PROXY`, `HTTP_PROXY`, `HTTPS_PROXY`,
//! `NO_PROXY`, read explicitly and logged masked), or a pool given with `--proxy`
//! (`spec.rs` parses it; `pool.rs` picks a host's proxy and takes failing ones
//! out; `fault.rs` tells a proxy's failure from the origin's).
//!
//! The environment's proxies are handed to the client, which applies them; a pool
//! is applied here, one client pair per proxy (`Fetcher` picks the client), so that
//! a host's requests go through one proxy while it is live and the record can name
//! it. Proxy credentials live in memory only: every text shows a proxy masked.

mod env;
mod fault;
mod pool;
mod spec;

pub(crate) use env::EnvProxies;
pub(crate) use fault::{of_error as fault_of_error, of_response as fault_of_response, Fault};
pub(crate) use pool::ProxyPool;
pub use pool::ProxyReport;
pub use spec::{
    NoProxyError, NoProxyList, ProxySetting, ProxySettingError, ProxyUrl, ProxyUrlError,
    MAX_PROXIES, PROXY_SCHEMES,
};
