//! A minimal JSON object writer for `--json` output.
//!
//! Only what bvault prints: objects of strings, unsigned integers, booleans,
//! nulls and nested objects, in insertion order.

use std::fmt::Write as _;

/// A JSON value that bvault prints.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A non-negative integer.
    Uint(u64),
    /// A string, escaped on output.
    Str(String),
    /// A nested object.
    Object(Object),
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Uint(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<Object> for Value {
    fn from(v: Object) -> Self {
        Value::Object(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// A JSON object whose fields keep their insertion order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    fields: Vec<(&'static str, Value)>,
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object::default()
    }

    /// Appends a field.
    pub fn field(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    /// Appends a field in place.
    pub fn push(&mut self, name: &'static str, value: impl Into<Value>) {
        self.fields.push((name, value.into()));
    }

    /// Appends every field of `other`, in order.
    pub fn extend(&mut self, other: Object) {
        self.fields.extend(other.fields);
    }

    /// The compact JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_object(self, &mut out);
        out
    }
}

fn write_object(obj: &Object, out: &mut String) {
    out.push('{');
    for (i, (name, value)) in obj.fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(name, out);
        out.push(':');
        write_value(value, out);
    }
    out.push('}');
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Uint(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Str(s) => write_str(s, out),
        Value::Object(o) => write_object(o, out),
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nests() {
        let inner = Object::new().field("n", 7u64).field("none", None::<u64>);
        let obj = Object::new()
            .field("s", "a\"b\\c\nd\u{1}")
            .field("b", true)
            .field("o", inner);
        assert_eq!(
            obj.to_json(),
            r#"{"s":"a\"b\\c\nd\u0001","b":true,"o":{"n":7,"none":null}}"#
        );
    }
}
