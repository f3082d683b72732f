//! One connection to the cluster's Redis, made again after it breaks.
//!
//! Commands run through [`Connection::run`], which turns the `redis` crate's errors
//! into [`ClusterError`]s naming the masked URL, and drops a broken connection so
//! the next call connects afresh (after a Redis restart, say). Nothing is retried
//! here: whether a command may be repeated is the caller's to decide.

use crate::error::ClusterError;
use std::path::Path;
use std::time::Duration;

/// How long to wait for a connection, and for an answer, before calling Redis
/// unreachable: a stopped server must not hang a node's threads.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A lazily (re)made connection to one Redis server.
pub struct Connection {
    client: redis::Client,
    masked_url: String,
    /// The URL and its password, removed from any message that might quote them.
    secrets: Vec<String>,
    conn: Option<redis::Connection>,
}

impl Connection {
    /// Checks the URL and connects once, so that an unreachable server is reported
    /// here, naming the masked URL. `tls_ca`: certificates to trust for `rediss://`
    /// instead of the system's.
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
        let client = match tls_ca {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| ClusterError::BadConfig {
                    name: "TLS CA",
                    reason: format!("{}: {e}", path.display()),
                })?;
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                };
                redis::Client::build_with_tls(url, certificates)
            }
            None => redis::Client::open(url),
        };
        let client = client.map_err(|e| ClusterError::BadUrl {
            url: masked_url.to_string(),
            reason: scrub(&e.to_string(), &secrets),
        })?;
        let mut connection = Connection {
            client,
            masked_url: masked_url.to_string(),
            secrets,
            conn: None,
        };
        connection.connected()?;
        Ok(connection)
    }

    /// The URL as it may be shown.
    pub fn masked_url(&self) -> &str {
        &self.masked_url
    }

    /// Runs `command` on the connection (connecting first if needed).
    pub fn run<T>(
        &mut self,
        command: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, ClusterError> {
        let conn = self.connected()?;
        match command(conn) {
            Ok(value) => Ok(value),
            Err(e) => Err(self.failed(&e)),
        }
    }

    /// Like [`Connection::run`], but an error the script raised with
    /// `redis.error_reply('FENCED <epoch> <owner>')` comes back as `Ok(Err(current
    /// epoch, owner))` for the caller to turn into [`ClusterError::Fenced`].
    pub fn run_fenced<T>(
        &mut self,
        command: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<Result<T, (u64, String)>, ClusterError> {
        let conn = self.connected()?;
        match command(conn) {
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

    /// The error for a failed command; a connection that broke is dropped.
    fn failed(&mut self, e: &redis::RedisError) -> ClusterError {
        if e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error() {
            self.conn = None;
        }
        ClusterError::Redis {
            url: self.masked_url.clone(),
            reason: scrub(&e.to_string(), &self.secrets),
        }
    }

    fn connected(&mut self) -> Result<&mut redis::Connection, ClusterError> {
        if self.conn.is_none() {
            let conn = self
                .client
                .get_connection_with_timeout(TIMEOUT)
                .and_then(|c| {
                    c.set_read_timeout(Some(TIMEOUT))?;
                    c.set_write_timeout(Some(TIMEOUT))?;
                    Ok(c)
                })
                .map_err(|e| ClusterError::Unreachable {
                    url: self.masked_url.clone(),
                    reason: scrub(&e.to_string(), &self.secrets),
                })?;
            self.conn = Some(conn);
        }
        match self.conn.as_mut() {
            Some(conn) => Ok(conn),
            None => Err(ClusterError::Unreachable {
                url: self.masked_url.clone(),
                reason: "no connection".into(),
            }),
        }
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
