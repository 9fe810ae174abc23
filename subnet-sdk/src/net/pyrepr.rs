//! Python's `str()` of JSON values, for the Synapse body hash.
//!
//! The Python SDK hashes `str(model_dump()[field])` for each of a synapse's
//! `required_hash_fields`. To compute the same hash we keep a JSON body's values as Python
//! would hold them after `json.loads` (object keys in arrival order, integers apart from
//! floats) and render them with CPython's rules: strings bare at the top level and quoted by
//! `repr` inside containers, floats in their shortest round-trip form (`1.0`, `1e+16`,
//! `1.5e-05`), `True`/`False`/`None`.
//!
//! Limits, both outside what JSON bodies of real synapses contain: integers beyond 64 bits
//! arrive as floats (JSON parsing is 64-bit), and a non-ASCII code point that Unicode has not
//! assigned yet is printed as itself where Python escapes it.

use std::fmt::{self, Write as _};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use sha3::{Digest, Sha3_256};

/// A JSON value as Python holds it after `json.loads`: dicts keep their key order.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None` (JSON `null`).
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int`.
    Int(i128),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `dict`, in insertion order.
    Dict(Vec<(String, PyValue)>),
}

impl PyValue {
    /// Parses JSON text, keeping object keys in order.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The value of `key` if this is a dict holding it.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            Self::Dict(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Python's `str(value)`: strings as they are, everything else as `repr`.
    pub fn py_str(&self) -> String {
        match self {
            Self::Str(s) => s.clone(),
            other => other.py_repr(),
        }
    }

    /// Python's `repr(value)`.
    pub fn py_repr(&self) -> String {
        let mut out = String::new();
        self.write_repr(&mut out);
        out
    }

    fn write_repr(&self, out: &mut String) {
        match self {
            Self::None => out.push_str("None"),
            Self::Bool(true) => out.push_str("True"),
            Self::Bool(false) => out.push_str("False"),
            Self::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Self::Float(f) => out.push_str(&float_repr(*f)),
            Self::Str(s) => str_repr(s, out),
            Self::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_repr(out);
                }
                out.push(']');
            }
            Self::Dict(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    str_repr(k, out);
                    out.push_str(": ");
                    v.write_repr(out);
                }
                out.push('}');
            }
        }
    }
}

impl<'de> Deserialize<'de> for PyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PyVisitor)
    }
}

struct PyVisitor;

impl<'de> Visitor<'de> for PyVisitor {
    type Value = PyValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<PyValue, E> {
        Ok(PyValue::None)
    }
    fn visit_none<E: de::Error>(self) -> Result<PyValue, E> {
        Ok(PyValue::None)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<PyValue, E> {
        Ok(PyValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<PyValue, E> {
        Ok(PyValue::Int(i128::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PyValue, E> {
        Ok(PyValue::Int(i128::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<PyValue, E> {
        Ok(PyValue::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<PyValue, E> {
        Ok(PyValue::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<PyValue, E> {
        Ok(PyValue::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PyValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(PyValue::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PyValue, A::Error> {
        let mut entries: Vec<(String, PyValue)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, PyValue>()? {
            // Python's dict keeps the first position and the last value of a repeated key.
            match entries.iter_mut().find(|(key, _)| *key == k) {
                Some(slot) => slot.1 = v,
                None => entries.push((k, v)),
            }
        }
        Ok(PyValue::Dict(entries))
    }
}

/// CPython's `repr(float)`: the shortest digits that round-trip, in fixed notation when the
/// decimal exponent is in `-4..16`, otherwise as `d.ddde±XX`.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` also prints the shortest round-trip digits: `-1.2345e-5`.
    let sci = format!("{f:e}");
    let (negative, sci) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci.as_str()),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..16).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if exp >= 0 {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', int_len - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', exp.unsigned_abs() as usize - 1));
        out.push_str(&digits);
    }
    out
}

/// CPython's `repr(str)`: single quotes unless the text holds `'` and no `"`.
fn str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x7f || is_printable(c) => out.push(c),
            c => {
                let cp = c as u32;
                let _ = if cp <= 0xff {
                    write!(out, "\\x{cp:02x}")
                } else if cp <= 0xffff {
                    write!(out, "\\u{cp:04x}")
                } else {
                    write!(out, "\\U{cp:08x}")
                };
            }
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable` for one non-ASCII character: false for control, format,
/// separator (other than space), private-use and non-character code points.
fn is_printable(c: char) -> bool {
    let cp = c as u32;
    let not_printable = matches!(cp,
        0x80..=0xa0 | 0xad
        | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2
        | 0x1680 | 0x180e
        | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x206f
        | 0x3000
        | 0xd800..=0xf8ff
        | 0xfdd0..=0xfdef | 0xfeff | 0xfff9..=0xfffb
        | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a
        | 0xe0001 | 0xe0020..=0xe007f
        | 0xf0000..=0x10ffff
    );
    !not_printable && (cp & 0xfffe) != 0xfffe
}

/// SHA3-256 of `data` as 64 lowercase hex digits (the Python SDK's `get_hash`).
pub fn sha3_hex(data: &[u8]) -> String {
    hex::encode(Sha3_256::digest(data))
}

/// The Synapse `computed_body_hash` of a body over `fields` (`required_hash_fields`).
///
/// A field missing from the body counts as `None`, the value Python would dump for an
/// optional field left at its default.
pub fn body_hash(body: &PyValue, fields: &[&str]) -> String {
    let mut concat = String::with_capacity(64 * fields.len());
    for field in fields {
        let rendered = body.get(field).unwrap_or(&PyValue::None).py_str();
        concat.push_str(&sha3_hex(rendered.as_bytes()));
    }
    sha3_hex(concat.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(json: &str) -> String {
        PyValue::from_json(json.as_bytes()).unwrap().py_str()
    }

    #[test]
    fn renders_like_python_str() {
        assert_eq!(render("21"), "21");
        assert_eq!(render("[1.0, 2.5]"), "[1.0, 2.5]");
        assert_eq!(render(r#"{"a": 1, "b": [1, 2]}"#), "{'a': 1, 'b': [1, 2]}");
        assert_eq!(render(r#"{"b": 1, "a": 2}"#), "{'b': 1, 'a': 2}");
        assert_eq!(render("null"), "None");
        assert_eq!(render("[true, false, null]"), "[True, False, None]");
        assert_eq!(render(r#""raw text""#), "raw text");
        assert_eq!(
            render(r#"["it's", "say \"hi\"", "both ' \""]"#),
            r#"["it's", 'say "hi"', 'both \' "']"#
        );
        assert_eq!(
            render(r#"["a\\b\n\t\u0001\u007f", "é€😀", "\u00a0\u200b"]"#),
            r"['a\\b\n\t\x01\x7f', 'é€😀', '\xa0\u200b']"
        );
        assert_eq!(render("{}"), "{}");
        assert_eq!(render("[]"), "[]");
    }

    #[test]
    fn floats_follow_cpython_repr() {
        for (f, want) in [
            (1.0, "1.0"),
            (2.5, "2.5"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (-2.5e-300, "-2.5e-300"),
            (f64::INFINITY, "inf"),
            (1.0 / 3.0, "0.3333333333333333"),
        ] {
            assert_eq!(float_repr(f), want, "{f}");
        }
    }

    #[test]
    fn body_hash_matches_the_spec_vectors() {
        let body = PyValue::from_json(br#"{"dummy_input": 21, "name": "Dummy"}"#).unwrap();
        assert_eq!(
            body_hash(&body, &["dummy_input"]),
            "92458924edc5f6c19fb90d1d8cec7ec179fd1a4dc293e2d97f8578f6f13ba970"
        );
        assert_eq!(
            body_hash(&body, &[]),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
        );
        let body = PyValue::from_json(
            br#"{"dummy_input": 21, "items": [1.0, 2.5], "meta": {"a": 1, "b": [1, 2]}}"#,
        )
        .unwrap();
        let want = sha3_hex(
            [
                sha3_hex(b"21"),
                sha3_hex(b"[1.0, 2.5]"),
                sha3_hex(b"{'a': 1, 'b': [1, 2]}"),
            ]
            .concat()
            .as_bytes(),
        );
        assert_eq!(body_hash(&body, &["dummy_input", "items", "meta"]), want);
    }
}
