//! A YAML document as a tree of values that remember where they came from.
//!
//! pipeline.yaml is templated (`${…}`, `foreach`, `matrix`) before it is typed, so it
//! is first read into this generic tree; every node and every mapping key keeps its
//! byte span so that errors found later can still point into the file.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::source::{SourceFile, Span};

/// A value of the tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    String(String),
    /// A sequence.
    List(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key's text.
    pub name: String,
    /// Where the key is written.
    pub span: Span,
}

/// A value and where it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value is written (for mappings and sequences: their first byte).
    pub span: Span,
}

/// A YAML syntax error.
#[derive(Clone, Debug)]
pub struct SyntaxError {
    /// What the parser says is wrong.
    pub message: String,
    /// Where, when the parser knows.
    pub span: Option<Span>,
}

/// Parses `file` into a tree; an empty document is `Null`.
pub fn parse(file: &SourceFile) -> Result<Node, SyntaxError> {
    if file.text.trim().is_empty() {
        return Ok(Node::new(Value::Null, Span::default()));
    }
    let options = serde_saphyr::options! { strict_booleans: true };
    match serde_saphyr::from_str_with_options::<RawNode>(&file.text, options) {
        Ok(raw) => Ok(raw.into_node(file)),
        Err(error) => {
            let span = error.location().map(|location| span_of(file, &location, 1));
            Err(SyntaxError { message: bare_message(&error), span })
        }
    }
}

/// Strips the parser's `error: line L column C:` prefix and its snippet.
fn bare_message(error: &serde_saphyr::Error) -> String {
    let text = error.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first);
    let message = match message.split_once(": ") {
        Some((place, rest)) if place.starts_with("line ") => rest,
        _ => message,
    };
    let message = message.split(", set DuplicateKeyPolicy").next().unwrap_or(message);
    if message.starts_with("budget breached") {
        // serde-saphyr's guard against alias bombs ("billion laughs").
        return "the document expands to too many values through anchors and aliases \
                (an alias bomb?); write the values out, or use fewer nested aliases"
            .to_owned();
    }
    match message.rsplit_once(" at line ") {
        Some((text, place)) if place.contains(", column ") => text.to_owned(),
        _ => message.to_owned(),
    }
}

fn span_of(file: &SourceFile, location: &Location, min_len: usize) -> Span {
    let span = location.span();
    match (span.byte_offset(), span.byte_len()) {
        (Some(offset), Some(len)) => Span::new(offset as usize, len as usize),
        _ => {
            let offset = file.offset_of(location.line() as usize, location.column() as usize);
            let len = if offset < file.text.len() { min_len } else { 0 };
            Span::new(offset, len)
        }
    }
}

impl Node {
    /// Returns a node holding `value` at `span`.
    pub fn new(value: Value, span: Span) -> Self {
        Self { value, span }
    }

    /// Returns the value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Returns the name of the node's type as users know it.
    pub fn type_name(&self) -> &'static str {
        self.value.type_name()
    }

    /// Returns the value as a JSON value (mapping order kept).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::String(s) => Json::String(s.clone()),
            Value::List(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                Json::Object(entries.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect())
            }
        }
    }
}

impl Value {
    /// Returns the name of the value's type as users know it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Returns true for null, booleans, numbers and strings.
    pub fn is_scalar(&self) -> bool {
        !matches!(self, Value::List(_) | Value::Map(_))
    }
}

impl fmt::Display for Value {
    /// Formats a scalar the way it is written into a command (`true`, `1.5`, `x`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("None"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{}", format_float(*x)),
            Value::String(s) => f.write_str(s),
            Value::List(_) | Value::Map(_) => f.write_str(self.type_name()),
        }
    }
}

/// Formats a float as Python's `str` does for the common cases (`1.0`, `0.25`, `1e-05`).
fn format_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let magnitude = x.abs();
    if magnitude != 0.0 && !(1e-4..1e16).contains(&magnitude) {
        let text = format!("{x:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let text = format!("{x}");
    if text.contains('.') { text } else { format!("{text}.0") }
}

/// The tree as the deserializer hands it over, with parser locations.
struct RawNode(Spanned<RawValue>);

enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<RawNode>),
    Map(Vec<(Spanned<String>, RawNode)>),
}

impl RawNode {
    fn into_node(self, file: &SourceFile) -> Node {
        let span = span_of(file, &self.0.referenced, 0);
        let value = match self.0.value {
            RawValue::Null => Value::Null,
            RawValue::Bool(b) => Value::Bool(b),
            RawValue::Int(i) => Value::Int(i),
            RawValue::Float(f) => Value::Float(f),
            RawValue::String(s) => Value::String(s),
            RawValue::List(items) => {
                Value::List(items.into_iter().map(|item| item.into_node(file)).collect())
            }
            RawValue::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(key, value)| {
                        let key_span = span_of(file, &key.referenced, key.value.len());
                        (Key { name: key.value, span: key_span }, value.into_node(file))
                    })
                    .collect(),
            ),
        };
        Node::new(value, span)
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Spanned::<RawValue>::deserialize(deserializer).map(RawNode)
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawValueVisitor)
    }
}

struct RawValueVisitor;

impl<'de> Visitor<'de> for RawValueVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map_or(RawValue::Float(v as f64), RawValue::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map_or(RawValue::Float(v as f64), RawValue::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map_or(RawValue::Float(v as f64), RawValue::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<RawNode>()? {
            items.push(item);
        }
        Ok(RawValue::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<RawNode>()?;
            entries.push((key, value));
        }
        Ok(RawValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Node, SyntaxError> {
        parse(&SourceFile::new("t.yaml", "t.yaml", text.to_owned()))
    }

    #[test]
    fn keeps_spans_of_keys_and_scalars() {
        let text = "stages:\n  train:\n    cmd: echo hi\n    deps: [a, b]\n";
        let root = parse_str(text).unwrap();
        let train = root.get("stages").unwrap().get("train").unwrap();
        let Value::Map(entries) = &train.value else { panic!("not a map") };
        let (key, cmd) = &entries[0];
        assert_eq!(&text[key.span.offset..][..key.span.len], "cmd");
        assert_eq!(&text[cmd.span.offset..][..cmd.span.len], "echo hi");
        let Value::List(deps) = &entries[1].1.value else { panic!("not a list") };
        assert_eq!(&text[deps[1].span.offset..][..1], "b");
    }

    #[test]
    fn reads_scalar_types() {
        let root = parse_str("a: 3\nb: 1.5\nc: 'x'\nd: true\ne:\n").unwrap();
        let kinds: Vec<_> =
            ["a", "b", "c", "d", "e"].iter().map(|k| root.get(k).unwrap().value.clone()).collect();
        assert_eq!(
            kinds,
            [
                Value::Int(3),
                Value::Float(1.5),
                Value::String("x".into()),
                Value::Bool(true),
                Value::Null
            ]
        );
    }

    #[test]
    fn syntax_errors_have_a_place_and_a_bare_message() {
        let error = parse_str("stages:\n  a: [1, 2\n").unwrap_err();
        assert_eq!(error.message, "unclosed bracket '['");
        assert!(error.span.is_some());
        let error = parse_str("a: 1\na: 2\n").unwrap_err();
        assert_eq!(error.message, "duplicate mapping key: a");
    }

    #[test]
    fn only_yaml_1_2_booleans_are_booleans() {
        let root = parse_str("a: [y, n, yes, off, true]\n").unwrap();
        let Value::List(items) = &root.get("a").unwrap().value else { panic!("not a list") };
        let kinds: Vec<_> = items.iter().map(|i| i.type_name()).collect();
        assert_eq!(kinds, ["a string", "a string", "a string", "a string", "a boolean"]);
    }

    #[test]
    fn floats_format_like_python() {
        assert_eq!(format_float(1.0), "1.0");
        assert_eq!(format_float(0.25), "0.25");
        assert_eq!(format_float(1e-5), "1e-05");
        assert_eq!(format_float(-2.5e20), "-2.5e+20");
    }
}
