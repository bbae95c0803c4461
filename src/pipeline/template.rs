//! `${…}` interpolation: parsing a templated string and rendering it from a context.
//!
//! Pure string work with no I/O: the caller supplies the variables through
//! [`Context`] and maps the errors, which carry offsets into the string, onto spans.

use super::yaml::{Node, Value};

/// Where the variables of a template come from.
pub trait Context {
    /// Returns the value of a top-level variable (`item`, `key`, a params key …).
    fn variable(&self, name: &str) -> Option<&Node>;

    /// Returns the names of the top-level variables, for suggestions.
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// How a rendered value is turned into text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Any text: only scalars may be interpolated.
    Text,
    /// A command: a mapping becomes `--key value` flags and a list its items.
    Command,
}

/// A failure to render a template, with the byte range of the expression at fault.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateError {
    /// What is wrong.
    pub kind: TemplateErrorKind,
    /// Byte offset of the offending `${` in the string.
    pub offset: usize,
    /// Byte length of the offending expression.
    pub len: usize,
}

/// What is wrong with a template.
#[derive(Clone, Debug, PartialEq)]
pub enum TemplateErrorKind {
    /// `${` without its closing `}`.
    Unclosed,
    /// `${}` or an expression that is not a dotted key path.
    BadExpression { expression: String },
    /// A key that is in neither params nor vars; `suggestion` is the path
    /// it may be a typo of.
    MissingKey { key: String, suggestion: Option<String> },
    /// A list or mapping where only a scalar fits.
    NotAScalar { key: String, type_name: &'static str },
}

/// The result of rendering: the value itself when the string is one `${…}`, else text.
#[derive(Clone, Debug, PartialEq)]
pub enum Rendered {
    /// The string was a single expression: its value, type kept.
    Value(Value),
    /// Text with every expression replaced.
    Text(String),
}

#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(String),
    Expression { inner: &'a str, offset: usize, len: usize },
}

/// Returns true when `text` has an unescaped `${`.
pub fn has_expression(text: &str) -> bool {
    text.contains("${")
}

/// Renders `text` from `context`.
pub fn render(text: &str, context: &dyn Context, mode: Mode) -> Result<Rendered, TemplateError> {
    let pieces = split(text)?;
    if let [Piece::Expression { inner, offset, len }] = pieces.as_slice() {
        let (key, value) = evaluate(inner, context, *offset, *len)?;
        if mode == Mode::Text || value.is_scalar() {
            return Ok(Rendered::Value(value.clone()));
        }
        return to_text(&key, value, mode, *offset, *len).map(Rendered::Text);
    }
    let mut out = String::with_capacity(text.len());
    for piece in &pieces {
        match piece {
            Piece::Text(literal) => out.push_str(literal),
            Piece::Expression { inner, offset, len } => {
                let (key, value) = evaluate(inner, context, *offset, *len)?;
                out.push_str(&to_text(&key, value, mode, *offset, *len)?);
            }
        }
    }
    Ok(Rendered::Text(out))
}

/// Renders `text` to a string whatever it holds (a lone expression's scalar as text).
pub fn render_text(text: &str, context: &dyn Context, mode: Mode) -> Result<String, TemplateError> {
    Ok(match render(text, context, mode)? {
        Rendered::Value(value) => to_text("", &value, mode, 0, text.len())?,
        Rendered::Text(text) => text,
    })
}

/// Splits `text` into literal text and `${…}` expressions (which may nest).
fn split(text: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && text[i + 1..].starts_with("${") {
            literal.push_str("${");
            i += 3;
        } else if text[i..].starts_with("${") {
            let end = closing_brace(text, i + 2).ok_or(TemplateError {
                kind: TemplateErrorKind::Unclosed,
                offset: i,
                len: text.len() - i,
            })?;
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Expression {
                inner: &text[i + 2..end],
                offset: i,
                len: end + 1 - i,
            });
            i = end + 1;
        } else {
            let c = text[i..].chars().next().unwrap_or_default();
            literal.push(c);
            i += c.len_utf8().max(1);
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}

/// Returns the index of the `}` closing an expression that starts at `start`.
fn closing_brace(text: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Resolves the key path of one expression (rendering nested expressions first).
fn evaluate<'c>(
    inner: &str,
    context: &'c dyn Context,
    offset: usize,
    len: usize,
) -> Result<(String, &'c Value), TemplateError> {
    let error = |kind| TemplateError { kind, offset, len };
    let key = if has_expression(inner) {
        render_text(inner, context, Mode::Text).map_err(|mut e| {
            e.offset += offset + 2;
            e
        })?
    } else {
        inner.to_owned()
    };
    let key = key.trim().to_owned();
    let path = parse_path(&key)
        .ok_or_else(|| error(TemplateErrorKind::BadExpression { expression: key.clone() }))?;
    let missing =
        |suggestion| error(TemplateErrorKind::MissingKey { key: key.clone(), suggestion });
    let (first, rest) = path.split_first().ok_or_else(|| missing(None))?;
    let PathSegment::Key(name) = first else {
        return Err(missing(None));
    };
    let Some(mut node) = context.variable(name) else {
        let names = context.names();
        let near = super::suggest::closest(name, names.iter().map(String::as_str));
        return Err(missing(near.map(|near| respelled(&path, 0, near))));
    };
    for (index, segment) in rest.iter().enumerate() {
        node = match step(node, segment) {
            Some(next) => next,
            None => {
                let near = match (&node.value, segment) {
                    (Value::Map(entries), PathSegment::Key(name)) => {
                        super::suggest::closest(name, entries.iter().map(|(k, _)| k.name.as_str()))
                    }
                    _ => None,
                };
                return Err(missing(near.map(|near| respelled(&path, index + 1, near))));
            }
        };
    }
    Ok((key, &node.value))
}

/// Returns `path` written as a key path, its segment `at` replaced by `name`.
fn respelled(path: &[PathSegment<'_>], at: usize, name: &str) -> String {
    let mut written = String::new();
    for (index, segment) in path.iter().enumerate() {
        match segment {
            _ if index == at => {
                if index > 0 {
                    written.push('.');
                }
                written.push_str(name);
            }
            PathSegment::Key(key) => {
                if index > 0 {
                    written.push('.');
                }
                written.push_str(key);
            }
            PathSegment::Index(i) => written.push_str(&format!("[{i}]")),
        }
    }
    written
}

#[derive(Debug, PartialEq)]
enum PathSegment<'a> {
    Key(&'a str),
    Index(usize),
}

/// Parses `a.b[0].c` into segments; `None` when it is not a key path.
fn parse_path(key: &str) -> Option<Vec<PathSegment<'_>>> {
    let mut segments = Vec::new();
    for part in key.split('.') {
        let (name, indices) = part.split_once('[').map_or((part, ""), |(n, rest)| (n, rest));
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || "_-@/ ".contains(c)) {
            return None;
        }
        segments.push(PathSegment::Key(name));
        if !indices.is_empty() {
            for index in format!("[{indices}").split_terminator(']') {
                let digits = index.strip_prefix('[')?;
                segments.push(PathSegment::Index(digits.parse().ok()?));
            }
        }
    }
    Some(segments)
}

fn step<'n>(node: &'n Node, segment: &PathSegment<'_>) -> Option<&'n Node> {
    match (&node.value, segment) {
        (Value::Map(_), PathSegment::Key(name)) => node.get(name),
        (Value::List(items), PathSegment::Index(i)) => items.get(*i),
        (Value::List(items), PathSegment::Key(name)) => items.get(name.parse::<usize>().ok()?),
        _ => None,
    }
}

/// Turns a value into command or plain text.
fn to_text(
    key: &str,
    value: &Value,
    mode: Mode,
    offset: usize,
    len: usize,
) -> Result<String, TemplateError> {
    let not_scalar = || TemplateError {
        kind: TemplateErrorKind::NotAScalar { key: key.to_owned(), type_name: value.type_name() },
        offset,
        len,
    };
    match (value, mode) {
        (Value::Map(entries), Mode::Command) => {
            let mut flags = Vec::new();
            for (name, node) in entries {
                push_flags(&mut flags, &name.name, &node.value).map_err(|()| not_scalar())?;
            }
            Ok(flags.join(" "))
        }
        (Value::List(items), Mode::Command) if items.iter().all(|i| i.value.is_scalar()) => {
            Ok(items.iter().map(|i| shell_word(&i.value)).collect::<Vec<_>>().join(" "))
        }
        (value, _) if value.is_scalar() => Ok(value.to_string()),
        _ => Err(not_scalar()),
    }
}

/// Appends the flags of one mapping entry, as DVC writes a dict into a command.
fn push_flags(flags: &mut Vec<String>, name: &str, value: &Value) -> Result<(), ()> {
    match value {
        Value::Bool(true) => flags.push(format!("--{name}")),
        Value::Bool(false) => {}
        Value::Map(entries) => {
            for (key, node) in entries {
                push_flags(flags, &format!("{name}.{}", key.name), &node.value)?;
            }
        }
        Value::List(items) => {
            if items.iter().any(|i| !i.value.is_scalar()) {
                return Err(());
            }
            let words: Vec<_> = items.iter().map(|i| shell_word(&i.value)).collect();
            flags.push(format!("--{name} {}", words.join(" ")));
        }
        scalar => flags.push(format!("--{name} {}", shell_word(scalar))),
    }
    Ok(())
}

/// Returns a scalar as one shell word, quoted as Python's `shlex.quote` does (DVC uses it).
fn shell_word(value: &Value) -> String {
    let text = value.to_string();
    let plain = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c));
    if plain { text } else { format!("'{}'", text.replace('\'', r#"'"'"'"#)) }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::pipeline::source::SourceFile;
    use crate::pipeline::yaml::parse;

    struct Vars(HashMap<String, Node>);

    impl Context for Vars {
        fn variable(&self, name: &str) -> Option<&Node> {
            self.0.get(name)
        }
    }

    fn vars(yaml: &str) -> Vars {
        let root = parse(&SourceFile::new("v", "v", yaml.to_owned())).unwrap();
        let Value::Map(entries) = root.value else { panic!("vars must be a map") };
        Vars(entries.into_iter().map(|(k, v)| (k.name, v)).collect())
    }

    fn text(template: &str, vars: &Vars) -> String {
        render_text(template, vars, Mode::Command).unwrap()
    }

    #[test]
    fn replaces_nested_keys_and_list_indices() {
        let v = vars("a: {b: {c: 7}}\nlist: [x, {y: z}]\n");
        assert_eq!(text("n=${a.b.c} ${list[0]} ${list[1].y}", &v), "n=7 x z");
        assert_eq!(text("${ list.0 }", &v), "x");
    }

    #[test]
    fn a_lone_expression_keeps_its_type() {
        let v = vars("n: 3\nmodels: [a, b]\n");
        assert_eq!(render("${n}", &v, Mode::Text).unwrap(), Rendered::Value(Value::Int(3)));
        let Rendered::Value(Value::List(items)) = render("${models}", &v, Mode::Text).unwrap()
        else {
            panic!("a list was expected")
        };
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn nested_expressions_resolve_inside_out() {
        let v = vars("item: housing\ngenerate: {housing: {rows: 100}}\n");
        assert_eq!(text("--rows ${generate.${item}.rows}", &v), "--rows 100");
    }

    #[test]
    fn escaped_dollar_stays_literal() {
        let v = vars("x: 1\n");
        assert_eq!(text(r"echo \${x} ${x} $HOME", &v), "echo ${x} 1 $HOME");
    }

    #[test]
    fn a_mapping_in_a_command_becomes_flags() {
        let v =
            vars("opts: {lr: 0.1, deep: true, quiet: false, name: a b, n: {k: 2}, l: [1, 2]}\n");
        assert_eq!(text("train ${opts}", &v), "train --lr 0.1 --deep --name 'a b' --n.k 2 --l 1 2");
    }

    #[test]
    fn a_mapping_in_plain_text_is_an_error() {
        let v = vars("opts: {lr: 0.1}\n");
        let error = render_text("out/${opts}.csv", &v, Mode::Text).unwrap_err();
        assert_eq!(
            error.kind,
            TemplateErrorKind::NotAScalar { key: "opts".into(), type_name: "a mapping" }
        );
        assert_eq!((error.offset, error.len), (4, 7));
    }

    #[test]
    fn a_missing_key_is_named_with_its_place() {
        let v = vars("a: {b: 1, rows: 2}\n");
        let error = render_text("x ${a.c}", &v, Mode::Text).unwrap_err();
        assert_eq!(
            error.kind,
            TemplateErrorKind::MissingKey { key: "a.c".into(), suggestion: None }
        );
        assert_eq!((error.offset, error.len), (2, 6));
        let error = render_text("${a.rowz}", &v, Mode::Text).unwrap_err();
        let suggestion = Some("a.rows".to_owned());
        assert_eq!(error.kind, TemplateErrorKind::MissingKey { key: "a.rowz".into(), suggestion });
    }

    #[test]
    fn unclosed_and_empty_expressions_are_errors() {
        let v = vars("a: 1\n");
        let error = render_text("x ${a", &v, Mode::Text).unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::Unclosed);
        let error = render_text("${}", &v, Mode::Text).unwrap_err();
        assert!(matches!(error.kind, TemplateErrorKind::BadExpression { .. }));
    }
}
