//! The payload digest a record keeps ([`crate::PageRecord::digest`]): `sha1:` and the
//! base32 (RFC 4648) SHA-1 of the body as received (decoded), the spelling WARC's
//! `WARC-Payload-Digest` and CDX indexes use, so a record's digest goes into an export
//! as it is. A revisit compares it to tell an unchanged page from a changed one.

use data_encoding::BASE32;
use sha1::{Digest, Sha1};

/// The payload digest of `bytes`.
pub fn payload_digest(bytes: &[u8]) -> String {
    format!("sha1:{}", BASE32.encode(&Sha1::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_base32_sha1() {
        assert_eq!(payload_digest(b""), "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
    }
}
