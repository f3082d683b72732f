//! Resuming a crawl with the settings it started with.
//!
//! The store keeps the settings of the crawl's first run. A later run takes them
//! back, and a flag given now overrides the stored value; each override is reported.
//! A setting counts as given when a flag or a `--config` key set it (even to its
//! default value), or when its value differs from the default.

use std::collections::BTreeSet;
use std::time::Duration;

use crawler_core::{CrawlConfig, RevisitPolicy};
use crawler_storage::{Store, StoreError, StoreOptions};
use serde_json::Value;

use crate::values::{Seconds, Size};
use crate::Failure;

/// A stored setting a flag changed.
pub struct Override {
    pub setting: String,
    pub stored: String,
    pub now: String,
}

/// The settings to run with, the stored ones that flags overrode, and whether there
/// were stored settings (a crawl to resume).
pub fn settings(
    given: CrawlConfig,
    explicit: &BTreeSet<String>,
) -> Result<(CrawlConfig, Vec<Override>, bool), Failure> {
    let Some(stored) = first_run_settings(&given)? else {
        return Ok((given, Vec::new(), false));
    };
    let defaults = as_object(&CrawlConfig {
        store: given.store.clone(),
        ..CrawlConfig::default()
    });
    let given_json = as_object(&given);
    let mut merged = stored.clone();
    let mut overrides = Vec::new();
    for (key, now) in &given_json {
        let is_default = defaults.get(key) == Some(now);
        if key == "store" || explicit.contains(key) || !is_default {
            let before = stored.get(key);
            if key != "store" && before.is_some_and(|before| before != now) {
                overrides.push(Override {
                    setting: key.replace('_', "-"),
                    stored: before.map_or_else(|| "unset".to_owned(), |v| shown(key, v)),
                    now: shown(key, now),
                });
            }
            merged.insert(key.clone(), now.clone());
        }
    }
    let config = serde_json::from_value(Value::Object(merged)).map_err(|e| {
        Failure::Error(anyhow::anyhow!(
            "the settings stored in {} cannot be read back: {e}",
            given.store.display()
        ))
    })?;
    Ok((config, overrides, true))
}

/// A setting's value as a flag takes it: `30s`, `10M`, `unlimited`, `a.test b.test`.
fn shown(key: &str, value: &Value) -> String {
    if let Ok(policy) = serde_json::from_value::<RevisitPolicy>(value.clone()) {
        return match policy {
            RevisitPolicy::Fixed { after } => format!("after {}", Seconds(after)),
            RevisitPolicy::Adaptive { initial, min, max } => format!(
                "adaptive from {} within {}..{}",
                Seconds(initial),
                Seconds(min),
                Seconds(max)
            ),
        };
    }
    if let Ok(duration) = serde_json::from_value::<Duration>(value.clone()) {
        return Seconds(duration).to_string();
    }
    match value {
        Value::Null if key.starts_with("max_") => "unlimited".to_owned(),
        Value::Null => "unset".to_owned(),
        Value::Number(n) if key == "max_body" => n
            .as_u64()
            .map_or_else(|| n.to_string(), |bytes| Size(bytes).to_string()),
        Value::String(text) => text.clone(),
        Value::Array(items) if items.is_empty() => "none".to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|item| shown(key, item))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

fn first_run_settings(
    given: &CrawlConfig,
) -> Result<Option<serde_json::Map<String, Value>>, Failure> {
    let store = match Store::open(&given.store, StoreOptions::existing()) {
        Ok(store) => store,
        // A store that is not there yet, or not a store: `Crawler::new` reports it.
        Err(
            StoreError::Missing { .. }
            | StoreError::NotAStore { .. }
            | StoreError::NotADirectory { .. },
        ) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let runs = store.runs()?;
    Ok(runs.first().and_then(|run| run.config.as_object().cloned()))
}

/// The settings as JSON fields, named as stored (shared with `cluster.rs`).
pub(super) fn as_object(config: &CrawlConfig) -> serde_json::Map<String, Value> {
    match serde_json::to_value(config) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}
