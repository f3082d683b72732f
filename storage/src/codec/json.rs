//! JSON for the values the store keeps as JSON (page records, HTTP heads, runs,
//! totals, manifests), and the big-endian numbers it keeps under some keys: one place
//! that turns a value that does not decode into [`StoreError::Corrupt`] naming its key.

use crate::codec::keys;
use crate::StoreError;

/// `value` as JSON.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    key: &[u8],
    value: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt {
        key: keys::url_of(key),
        reason: e.to_string(),
    })
}

/// A stored big-endian u64 (`what` names it in the error when it is not 8 bytes).
pub(crate) fn from_be_u64(key: &[u8], value: &[u8], what: &str) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = value.try_into().map_err(|_| StoreError::Corrupt {
        key: keys::url_of(key),
        reason: format!("{what} is not 8 bytes"),
    })?;
    Ok(u64::from_be_bytes(bytes))
}
