//! Arrays of numbers as [`Blob`]s: little-endian IEEE 754 `binary32` values, back to back.
//!
//! Four bytes a value, six in JSON after base64: a quarter of what decimal text costs for a
//! full-precision `f32`, and every bit survives the trip, so the validator scores exactly the
//! numbers the miner sent.

use subforge_core::Blob;

/// Bytes per encoded value.
pub const F32_BYTES: usize = 4;

/// `values` as little-endian `f32`s.
pub fn encode_f32s(values: &[f32]) -> Blob {
    let mut bytes = Vec::with_capacity(values.len() * F32_BYTES);
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    Blob(bytes)
}

/// The `f32`s in `blob`, or `None` if its length is not a multiple of [`F32_BYTES`]. Values
/// come back bit for bit, NaN and infinities included: checking them is the caller's part.
pub fn decode_f32s(blob: &Blob) -> Option<Vec<f32>> {
    let bytes = blob.as_bytes();
    if !bytes.len().is_multiple_of(F32_BYTES) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(F32_BYTES)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_bit() {
        let values = [
            0.0,
            -0.0,
            1.5,
            -151.0,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::INFINITY,
            f32::from_bits(0x7fc0_0001),
        ];
        let blob = encode_f32s(&values);
        assert_eq!(blob.len(), values.len() * 4);
        let back = decode_f32s(&blob).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&values));
        assert_eq!(decode_f32s(&Blob::default()), Some(vec![]));
    }

    #[test]
    fn layout_is_little_endian() {
        // 1.0 is 0x3f800000.
        assert_eq!(encode_f32s(&[1.0]).as_bytes(), &[0x00, 0x00, 0x80, 0x3f]);
        assert_eq!(
            decode_f32s(&Blob(vec![0, 0, 0x20, 0xc1])),
            Some(vec![-10.0])
        );
    }

    #[test]
    fn partial_values_are_refused() {
        for len in [1, 2, 3, 5, 7] {
            assert_eq!(decode_f32s(&Blob(vec![0; len])), None, "{len}");
        }
    }
}
