//! Finding the parts of a log line without parsing them: the members of a
//! JSON object and the elements of an array, as spans of the line's text.
//! Only the structure is followed (strings, brackets, commas); values are
//! parsed when asked for. Reading 10,000 records of 250 values this way is
//! several times quicker than parsing every number.

/// The members of the JSON object `line`, each its key's text (with the
/// quotes) and its value's text; `None` unless `line` is one whole object
/// (a line torn by a crash is not).
pub fn members(line: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut scan = Scan { bytes: line, at: 0 };
    scan.expect(b'{')?;
    let mut members = Vec::with_capacity(16);
    if scan.peek() == Some(b'}') {
        scan.at += 1;
    } else {
        loop {
            let key = scan.value()?;
            if key.first() != Some(&b'"') {
                return None;
            }
            scan.expect(b':')?;
            members.push((key, scan.value()?));
            match scan.next()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
    }
    scan.skip_space();
    (scan.at == line.len()).then_some(members)
}

/// The elements of the JSON array `array` (its text from `[` to `]`), each
/// as its offset in `array` and its length; `None` unless it is one array.
/// `expected`: how many there likely are.
pub fn elements(array: &[u8], expected: usize) -> Option<Vec<(u32, u32)>> {
    u32::try_from(array.len()).ok()?;
    let inner = array.strip_prefix(b"[")?.strip_suffix(b"]")?;
    let mut spans = Vec::with_capacity(expected);
    let mut push = |from: usize, to: usize| {
        let element = array[from..to].trim_ascii();
        if !element.is_empty() {
            let offset = element.as_ptr() as usize - array.as_ptr() as usize;
            spans.push((offset as u32, element.len() as u32));
        }
    };
    let mut start = 1;
    // Mostly numbers: no strings or nesting, so every comma splits.
    if memchr::memchr3(b'"', b'[', b'{', inner).is_none() {
        for comma in memchr::memchr_iter(b',', inner) {
            push(start, comma + 1);
            start = comma + 2;
        }
    } else {
        let mut scan = Scan { bytes: array, at: 1 };
        loop {
            scan.skip_space();
            if scan.at + 1 >= array.len() {
                break;
            }
            scan.value()?;
            push(start, scan.at);
            match scan.next()? {
                b',' => start = scan.at,
                b']' if scan.at == array.len() => return Some(spans),
                _ => return None,
            }
        }
    }
    push(start, array.len() - 1);
    Some(spans)
}

/// A cursor over JSON text.
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn skip_space(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.at).copied()
    }

    /// The next byte that is not white space.
    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    /// Moves past the value that starts here; returns its text.
    fn value(&mut self) -> Option<&'a [u8]> {
        let start = {
            self.skip_space();
            self.at
        };
        match *self.bytes.get(start)? {
            b'"' => self.string()?,
            b'[' | b'{' => self.nested()?,
            _ => {
                let end = self.bytes[start..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                    .map_or(self.bytes.len(), |i| start + i);
                if end == start {
                    return None;
                }
                self.at = end;
            }
        }
        Some(&self.bytes[start..self.at])
    }

    /// Moves past the string that starts here.
    fn string(&mut self) -> Option<()> {
        let mut at = self.at + 1;
        loop {
            at += quote_or_backslash(self.bytes.get(at..)?)?;
            if self.bytes[at] == b'\\' {
                at += 2;
                continue;
            }
            self.at = at + 1;
            return Some(());
        }
    }

    /// Moves past the array or object that starts here.
    fn nested(&mut self) -> Option<()> {
        let open = self.bytes[self.at];
        let close = if open == b'[' { b']' } else { b'}' };
        let rest = &self.bytes[self.at + 1..];
        // An array of numbers: its end is the first `]`.
        if open == b'['
            && let Some(end) = memchr::memchr(b']', rest)
            && memchr::memchr3(b'"', b'[', b'{', &rest[..end]).is_none()
        {
            self.at += end + 2;
            return Some(());
        }
        let mut depth = 0usize;
        let mut at = self.at;
        while at < self.bytes.len() {
            match self.bytes[at] {
                b'"' => {
                    self.at = at;
                    self.string()?;
                    at = self.at;
                    continue;
                }
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        if self.bytes[at] != close {
                            return None;
                        }
                        self.at = at + 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            at += 1;
        }
        None
    }
}

/// Where the first `"` or `\\` of `bytes` is: eight bytes at a time (most
/// strings of a log are short names, too short for a vector search to pay).
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let found = zero_byte(word ^ (ONES * u64::from(b'"')))
            | zero_byte(word ^ (ONES * u64::from(b'\\')));
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    chunks.remainder().iter().position(|&b| b == b'"' || b == b'\\').map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(line: &'a [u8], spans: &[(u32, u32)]) -> Vec<&'a str> {
        let text = |&(at, len): &(u32, u32)| {
            std::str::from_utf8(&line[at as usize..(at + len) as usize]).unwrap()
        };
        spans.iter().map(text).collect()
    }

    #[test]
    fn an_objects_members_are_its_keys_and_the_text_of_their_values() {
        let line = br#"{"id":"a\"b","n":-1.5e3, "list":[1,[2,"]"],{"k":"}"}],"o":{},"t":true}"#;
        let found = members(line).unwrap();
        let pairs: Vec<(&str, &str)> = found
            .iter()
            .map(|(k, v)| (std::str::from_utf8(k).unwrap(), std::str::from_utf8(v).unwrap()))
            .collect();
        assert_eq!(
            pairs,
            [
                (r#""id""#, r#""a\"b""#),
                (r#""n""#, "-1.5e3"),
                (r#""list""#, r#"[1,[2,"]"],{"k":"}"}]"#),
                (r#""o""#, "{}"),
                (r#""t""#, "true"),
            ]
        );
    }

    #[test]
    fn a_torn_or_trailing_line_is_not_an_object() {
        let whole = br#"{"id":"x","values":[1,2,3],"stages":[{"name":"a"}]}"#;
        assert!(members(whole).is_some());
        for end in 0..whole.len() {
            assert_eq!(members(&whole[..end]), None, "torn at {end}");
        }
        assert_eq!(members(br#"{"a":1} {"b":2}"#), None);
        assert_eq!(members(br#"{"a":[1,2}"#), None);
        assert_eq!(members(br#"{"a":1,}"#), None);
    }

    #[test]
    fn the_first_quote_or_backslash_is_found_at_any_place() {
        for length in 0..40 {
            for place in 0..length {
                for mark in [b'"', b'\\'] {
                    let mut bytes = vec![b'a'; length];
                    bytes[place] = mark;
                    if place + 1 < length {
                        bytes[place + 1] = b'"';
                    }
                    assert_eq!(quote_or_backslash(&bytes), Some(place), "{length} {place}");
                }
            }
            assert_eq!(quote_or_backslash(&vec![b'x'; length]), None);
        }
        assert_eq!(quote_or_backslash("é\"".as_bytes()), Some(2));
    }

    #[test]
    fn an_arrays_elements_are_found_with_or_without_strings_and_nesting() {
        let numbers = b"[0.5,-2,1e-3,true,null]";
        assert_eq!(
            texts(numbers, &elements(numbers, 0).unwrap()),
            ["0.5", "-2", "1e-3", "true", "null"]
        );
        let mixed = br#"[ "a,b" , [1,2], {"k":[3]}, 4 ]"#;
        assert_eq!(
            texts(mixed, &elements(mixed, 1).unwrap()),
            [r#""a,b""#, "[1,2]", r#"{"k":[3]}"#, "4"]
        );
        assert_eq!(elements(b"[]", 0).unwrap(), []);
        assert_eq!(elements(b"[ ]", 0).unwrap(), []);
        assert_eq!(elements(b"1,2", 2), None);
    }
}
