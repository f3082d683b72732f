//! One connection to the cluster's Redis, made again after it breaks: to one
//! server, or to every shard of a Redis Cluster.
//!
//! Commands run through [`Connection::run`] (and pipelines through
//! [`Connection::run_pipeline`]), which turn the `redis` crate's errors into
//! [`ClusterError`]s naming the masked URL, and drop a broken connection so the next
//! call connects afresh (after a Redis restart, say). Nothing is retried here:
//! whether a command may be repeated is the caller's to decide (the cluster client
//! follows a shard's redirections, and tries a command again at most
//! [`CLUSTER_RETRIES`] times when a shard cannot answer it).
//!
//! Whether the URL leads to a Redis Cluster is found out, not configured: the first
//! connection asks the server (`INFO cluster`), and a server in cluster mode is used
//! through the `redis` crate's cluster client, seeded from that one URL (it learns
//! the other shards from it). Its password and TLS hold for every shard. A Redis
//! Cluster has only database 0, so a URL naming another is refused.

use crate::error::ClusterError;
use redis::cluster::{ClusterClient, ClusterConnection, ClusterPipeline};
use redis::{ConnectionLike, IntoConnectionInfo};
use std::path::Path;
use std::time::Duration;

/// How long to wait for a connection, and for an answer, before calling Redis
/// unreachable: a stopped server must not hang a node's threads.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Tries again of one command by the cluster client (a moved slot, a shard that
/// dropped the connection), each after a short wait: enough to follow a failover,
/// few enough that a lost cluster is reported within seconds.
const CLUSTER_RETRIES: u32 = 3;
const CLUSTER_RETRY_WAIT_MS: (u64, u64) = (20, 500);

/// What the URL leads to, found at [`Connection::open`].
enum Client {
    Single(redis::Client),
    Cluster(ClusterClient),
}

/// An open connection of either kind.
enum Link {
    Single(redis::Connection),
    Cluster(Box<ClusterConnection>),
}

impl Link {
    fn commands(&mut self) -> &mut dyn ConnectionLike {
        match self {
            Link::Single(conn) => conn,
            Link::Cluster(conn) => conn.as_mut(),
        }
    }
}

/// A lazily (re)made connection to the cluster's Redis (one server, or a Redis
/// Cluster).
pub struct Connection {
    client: Client,
    masked_url: String,
    /// The URL and its password, removed from any message that might quote them.
    secrets: Vec<String>,
    link: Option<Link>,
}

impl Connection {
    /// Checks the URL and connects once, so that an unreachable server is reported
    /// here, naming the masked URL; a server in cluster mode is then used as a Redis
    /// Cluster. `tls_ca`: certificates to trust for `rediss://` instead of the
    /// system's.
    pub fn open(
        url: &str,
        masked_url: &str,
        tls_ca: Option<&Path>,
    ) -> Result<Connection, ClusterError> {
        if url.starts_with("rediss://") {
            // The redis crate's rustls backend uses the process's default provider;
            // an embedding program may have installed one already, which is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let secrets = secrets_of(url);
        let bad_url = |reason: String| ClusterError::BadUrl {
            url: masked_url.to_string(),
            reason: scrub(&reason, &secrets),
        };
        let root_cert = match tls_ca {
            Some(path) => Some(std::fs::read(path).map_err(|e| ClusterError::BadConfig {
                name: "TLS CA",
                reason: format!("{}: {e}", path.display()),
            })?),
            None => None,
        };
        let info = url
            .into_connection_info()
            .map_err(|e| bad_url(e.to_string()))?;
        let database = info.redis_settings().db();
        // Asked in database 0: a Redis Cluster refuses to select another.
        let in_database_0 = info
            .clone()
            .set_redis_settings(info.redis_settings().clone().set_db(0));
        let mut connection = Connection {
            client: Client::Single(
                single_client(in_database_0, &root_cert).map_err(|e| bad_url(e.to_string()))?,
            ),
            masked_url: masked_url.to_string(),
            secrets: secrets.clone(),
            link: None,
        };
        connection.connected()?;
        connection.client = match (connection.in_cluster_mode(), database) {
            (false, 0) => return Ok(connection),
            (false, _) => Client::Single(
                single_client(info, &root_cert).map_err(|e| bad_url(e.to_string()))?,
            ),
            (true, 0) => Client::Cluster(
                cluster_client(info, &root_cert).map_err(|e| bad_url(e.to_string()))?,
            ),
            (true, _) => {
                return Err(bad_url(format!(
                    "the server is a Redis Cluster, which has only database 0, not {database} (end the URL with /0)"
                )))
            }
        };
        connection.link = None;
        connection.connected()?;
        Ok(connection)
    }

    /// The URL as it may be shown.
    pub fn masked_url(&self) -> &str {
        &self.masked_url
    }

    /// Whether the server is a Redis Cluster (and this connection its cluster client).
    pub fn is_cluster(&self) -> bool {
        matches!(self.client, Client::Cluster(_))
    }

    /// Runs `command` on the connection (connecting first if needed). On a Redis
    /// Cluster, each command goes to the shard of its first key (a script: of its
    /// first `KEYS`), so no command or script may name keys of two slots.
    pub fn run<T>(
        &mut self,
        command: impl FnOnce(&mut dyn ConnectionLike) -> redis::RedisResult<T>,
    ) -> Result<T, ClusterError> {
        let link = self.connected()?;
        match command(link.commands()) {
            Ok(value) => Ok(value),
            Err(e) => Err(self.failed(&e)),
        }
    }

    /// Like [`Connection::run`], but an error the script raised with
    /// `redis.error_reply('FENCED <epoch> <owner>')` comes back as `Ok(Err(current
    /// epoch, owner))` for the caller to turn into [`ClusterError::Fenced`].
    pub fn run_fenced<T>(
        &mut self,
        command: impl FnOnce(&mut dyn ConnectionLike) -> redis::RedisResult<T>,
    ) -> Result<Result<T, (u64, String)>, ClusterError> {
        let link = self.connected()?;
        match command(link.commands()) {
            Ok(value) => Ok(Ok(value)),
            Err(e) if e.code() == Some("FENCED") => {
                let detail = e.detail().unwrap_or("");
                let mut words = detail.split_whitespace();
                let epoch = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                let owner = words.next().unwrap_or("-").to_string();
                Ok(Err((epoch, owner)))
            }
            Err(e) => Err(self.failed(&e)),
        }
    }

    /// Sends `pipe` (a plain pipeline, not a transaction) in one round trip per
    /// server and hands its replies, in order, to `read`. On a Redis Cluster each
    /// command goes to its key's shard, so the commands may name keys of any slots.
    pub fn run_pipeline<T>(
        &mut self,
        pipe: &redis::Pipeline,
        read: impl FnOnce(Vec<redis::Value>) -> redis::RedisResult<T>,
    ) -> Result<T, ClusterError> {
        let replies = match self.connected()? {
            Link::Single(conn) => pipe.query::<Vec<redis::Value>>(conn),
            Link::Cluster(conn) => {
                let mut routed = ClusterPipeline::new();
                for cmd in pipe.cmd_iter() {
                    routed.add_command(cmd.clone());
                }
                routed.query::<Vec<redis::Value>>(conn)
            }
        };
        match replies.and_then(read) {
            Ok(value) => Ok(value),
            Err(e) => Err(self.failed(&e)),
        }
    }

    /// `INFO section` of every server: the one server, or each shard's primary.
    pub fn info(&mut self, section: &str) -> Result<Vec<String>, ClusterError> {
        self.run(|c| {
            let reply: redis::Value = redis::cmd("INFO").arg(section).query(c)?;
            match reply {
                // The cluster client answers a command sent to every primary with
                // each primary's reply, by address.
                redis::Value::Map(by_server) => Ok(by_server
                    .into_iter()
                    .map(|(_, text)| redis::FromRedisValue::from_redis_value(text))
                    .collect::<Result<Vec<String>, _>>()?),
                text => Ok(vec![redis::FromRedisValue::from_redis_value(text)?]),
            }
        })
    }

    /// Whether the one server connected to says it runs in cluster mode (a server
    /// that refuses `INFO` is taken to be a plain one).
    fn in_cluster_mode(&mut self) -> bool {
        self.info("cluster").is_ok_and(|texts| {
            texts
                .iter()
                .any(|text| text.lines().any(|line| line.trim() == "cluster_enabled:1"))
        })
    }

    /// The error for a failed command; a connection that broke (or whose view of a
    /// cluster's slots went stale) is dropped.
    fn failed(&mut self, e: &redis::RedisError) -> ClusterError {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_unrecoverable_error()
            || e.is_cluster_error()
        {
            self.link = None;
        }
        ClusterError::Redis {
            url: self.masked_url.clone(),
            reason: scrub(&e.to_string(), &self.secrets),
        }
    }

    fn connected(&mut self) -> Result<&mut Link, ClusterError> {
        if self.link.is_none() {
            let link = match &self.client {
                Client::Single(client) => {
                    client.get_connection_with_timeout(TIMEOUT).and_then(|c| {
                        c.set_read_timeout(Some(TIMEOUT))?;
                        c.set_write_timeout(Some(TIMEOUT))?;
                        Ok(Link::Single(c))
                    })
                }
                Client::Cluster(client) => {
                    client.get_connection().map(|c| Link::Cluster(Box::new(c)))
                }
            }
            .map_err(|e| ClusterError::Unreachable {
                url: self.masked_url.clone(),
                reason: scrub(&e.to_string(), &self.secrets),
            })?;
            self.link = Some(link);
        }
        match self.link.as_mut() {
            Some(link) => Ok(link),
            None => Err(ClusterError::Unreachable {
                url: self.masked_url.clone(),
                reason: "no connection".into(),
            }),
        }
    }
}

/// A client of one server; `root_cert`: the CA to trust for TLS instead of the
/// system's.
fn single_client(
    info: redis::ConnectionInfo,
    root_cert: &Option<Vec<u8>>,
) -> redis::RedisResult<redis::Client> {
    match root_cert {
        Some(pem) => redis::Client::build_with_tls(info, certificates(pem)),
        None => redis::Client::open(info),
    }
}

/// A Redis Cluster client seeded from one shard's address, which learns the others
/// from it (every shard with the seed's password and TLS).
fn cluster_client(
    seed: redis::ConnectionInfo,
    root_cert: &Option<Vec<u8>>,
) -> redis::RedisResult<ClusterClient> {
    let mut builder = ClusterClient::builder([seed])
        .connection_timeout(TIMEOUT)
        .response_timeout(TIMEOUT)
        .retries(CLUSTER_RETRIES)
        .min_retry_wait(CLUSTER_RETRY_WAIT_MS.0)
        .max_retry_wait(CLUSTER_RETRY_WAIT_MS.1);
    if let Some(pem) = root_cert {
        builder = builder.certs(certificates(pem));
    }
    builder.build()
}

/// Trust `root_cert` (PEM) for TLS, with no client certificate.
fn certificates(root_cert: &[u8]) -> redis::TlsCertificates {
    redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(root_cert.to_vec()),
    }
}

/// The URL, and its password as written and decoded: what no message may quote.
fn secrets_of(url: &str) -> Vec<String> {
    let mut secrets = vec![url.to_string()];
    if let Some(password) = url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(String::from))
    {
        let decoded = url::form_urlencoded::parse(format!("p={password}").as_bytes())
            .map(|(_, value)| value.into_owned())
            .next()
            .unwrap_or_default();
        secrets.push(decoded);
        secrets.push(password);
    }
    secrets.retain(|s| !s.is_empty());
    secrets
}

/// `message` with every secret replaced (the redis crate's errors may quote the URL).
fn scrub(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_string(), |text, secret| {
        text.replace(secret.as_str(), "***")
    })
}
