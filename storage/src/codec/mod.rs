//! How the store's values are laid out in bytes: its sled keys (`keys`), the value of a
//! page key (`page_value`), LEB128 numbers (`leb128`), the encoding of a page's parts in the body log (`part`:
//! LZ4 when smaller) and JSON (`json`).
//!
//! Every decoder here is checked: bytes that do not decode are a typed error, never a
//! panic.

pub(crate) mod history;
pub(crate) mod json;
pub(crate) mod keys;
pub(crate) mod leb128;
pub(crate) mod page_value;
pub(crate) mod part;
