//! Binary payloads in tasks and answers: images, arrays, audio.
//!
//! Every wire Subforge speaks carries tasks as JSON (the Synapse protocol, `btauth/1`, Epistula,
//! the WASM scoring ABI, the gateway), and JSON has no bytes. A [`Blob`] is a field of raw bytes
//! that serializes as one standard, padded base64 string in human-readable formats (what the
//! Python SDK's `base64.b64encode` produces and `b64decode` reads) and as plain bytes in binary
//! formats. Base64 costs 4 bytes on the wire for every 3 of payload and nothing else: no per-byte
//! JSON numbers (an array of `u8` costs up to 4 bytes per byte and a parse per element).
//!
//! Sizes are bounded by the transport, not by the type: an axon refuses a body over its
//! `max_body_bytes` (8 MiB by default, so about 6 MiB of payload), and a WASM scorer refuses
//! input over its `max_input_bytes` (16 MiB). A task that carries more should carry a digest
//! and a location instead.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Raw bytes that travel as base64 in JSON. See the module documentation.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Blob(pub Vec<u8>);

impl Blob {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The length of the base64 text of `bytes` bytes: what a blob costs in JSON, quotes aside.
    pub const fn encoded_len(bytes: usize) -> usize {
        bytes.div_ceil(3) * 4
    }
}

impl From<Vec<u8>> for Blob {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<&[u8]> for Blob {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl From<Blob> for Vec<u8> {
    fn from(blob: Blob) -> Self {
        blob.0
    }
}

impl AsRef<[u8]> for Blob {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// Short: a blob may be megabytes, and debug output goes to logs.
impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 16;
        write!(f, "Blob({} bytes: ", self.0.len())?;
        for b in self.0.iter().take(SHOWN) {
            write!(f, "{b:02x}")?;
        }
        if self.0.len() > SHOWN {
            f.write_str("..")?;
        }
        f.write_str(")")
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&STANDARD.encode(&self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BlobVisitor;

        impl<'de> Visitor<'de> for BlobVisitor {
            type Value = Blob;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes as a standard, padded base64 string")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Blob, E> {
                STANDARD
                    .decode(text)
                    .map(Blob)
                    .map_err(|e| E::custom(format_args!("not standard base64: {e}")))
            }

            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Blob, E> {
                Ok(Blob(bytes.to_vec()))
            }

            fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Blob, E> {
                Ok(Blob(bytes))
            }
        }

        if d.is_human_readable() {
            d.deserialize_str(BlobVisitor)
        } else {
            d.deserialize_byte_buf(BlobVisitor)
        }
    }
}

impl schemars::JsonSchema for Blob {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Blob".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "contentEncoding": "base64",
            "description": "Bytes as a standard, padded base64 string",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn travels_as_padded_standard_base64() {
        // RFC 4648 section 10 vectors.
        for (raw, text) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let blob = Blob::from(raw.as_bytes());
            let json = serde_json::to_string(&blob).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(Blob::encoded_len(raw.len()), text.len());
            assert_eq!(serde_json::from_str::<Blob>(&json).unwrap(), blob);
        }
        // Bytes outside ASCII, and the two characters only standard base64 has.
        let blob = Blob(vec![0xfb, 0xff, 0xbf, 0x00]);
        assert_eq!(serde_json::to_string(&blob).unwrap(), "\"+/+/AA==\"");
    }

    #[test]
    fn malformed_text_is_a_typed_error() {
        for bad in [
            "\"Zg\"",   // unpadded
            "\"-_-_\"", // the URL-safe alphabet
            "\"Zm9v!\"",
            "\"Zm 9v\"",
            "[1,2,3]",
            "12",
        ] {
            let e = serde_json::from_str::<Blob>(bad).unwrap_err();
            assert!(e.is_data() || e.is_syntax(), "{bad}: {e}");
        }
        let e = serde_json::from_str::<Blob>("\"Zg\"").unwrap_err();
        assert!(e.to_string().contains("base64"), "{e}");
    }

    #[test]
    fn debug_output_is_bounded() {
        let blob = Blob(vec![7; 1 << 20]);
        let shown = format!("{blob:?}");
        assert!(shown.starts_with("Blob(1048576 bytes: 0707"), "{shown}");
        assert!(shown.len() < 64, "{shown}");
    }

    #[test]
    fn schema_says_base64_string() {
        let schema = schemars::schema_for!(Blob);
        assert_eq!(schema.get("type").unwrap(), "string");
        assert_eq!(schema.get("contentEncoding").unwrap(), "base64");
    }
}
