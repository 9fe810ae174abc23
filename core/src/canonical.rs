//! Canonical JSON: object keys sorted by their UTF-8 bytes, no insignificant white space.
//! Used wherever JSON must hash the same on every machine.

use serde_json::Value;

/// Renders `value` canonically, whatever order its maps were built in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_keys_at_every_depth() {
        let v: Value = serde_json::from_str(r#"{"b": [ {"z": 1, "a": 2} ], "a": "x\"y"}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":"x\"y","b":[{"a":2,"z":1}]}"#);
    }
}
