//! Short type names for messages: `Array2<f32>` rather than
//! `ndarray::ArrayBase<ndarray::data_repr::OwnedRepr<f32>, ndarray::dimension::dim::Dim<[usize; 2]>, f32>`.
//! Records keep the full name of `std::any::type_name`.

/// `full` (a `std::any::type_name`) without module paths, with ndarray's
/// owned arrays under their aliases (`Array2<f64>`, `ArrayD<u8>`).
pub fn short(full: &str) -> String {
    alias_arrays(&strip_paths(full))
}

/// The outer type's own name, without its path and parameters:
/// `alloc::vec::Vec<f64>` → `Vec`.
pub(crate) fn base(full: &str) -> &str {
    let outer = full.split('<').next().unwrap_or(full);
    outer.rsplit("::").next().unwrap_or(outer)
}

/// Drops every `path::` prefix: `alloc::vec::Vec<alloc::string::String>` → `Vec<String>`.
fn strip_paths(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    for (i, c) in full.char_indices() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            continue;
        }
        push_last_segment(&mut out, &full[segment_start..i]);
        out.push(c);
        segment_start = i + c.len_utf8();
    }
    push_last_segment(&mut out, &full[segment_start..]);
    out
}

fn push_last_segment(out: &mut String, path: &str) {
    out.push_str(path.rsplit("::").next().unwrap_or(path));
}

/// `ArrayBase<OwnedRepr<A>, Dim<[usize; N]>, A>` → `ArrayN<A>`, and the
/// dynamic dimension `Dim<IxDynImpl>` → `ArrayD<A>`.
fn alias_arrays(stripped: &str) -> String {
    const OPEN: &str = "ArrayBase<OwnedRepr<";
    let mut out = String::with_capacity(stripped.len());
    let mut rest = stripped;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        if let Some((alias, consumed)) = parse_owned_array(after) {
            out.push_str(&alias);
            rest = &after[consumed..];
        } else {
            out.push_str(OPEN);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Parses `A>, Dim<[usize; N]>, A>` (the part after `ArrayBase<OwnedRepr<`);
/// returns the alias and how many bytes it covered.
fn parse_owned_array(after: &str) -> Option<(String, usize)> {
    let element_end = matching_close(after)?;
    let element = &after[..element_end];
    let rest = after[element_end..].strip_prefix(">, ")?;
    let (dims, rest) = if let Some(rest) = rest.strip_prefix("Dim<IxDynImpl>") {
        ("D".to_owned(), rest)
    } else {
        let rest = rest.strip_prefix("Dim<[usize; ")?;
        let digits_end = rest.find(']')?;
        let n: usize = rest[..digits_end].parse().ok()?;
        (n.to_string(), rest[digits_end..].strip_prefix("]>")?)
    };
    // ndarray 0.17 repeats the element type as a third parameter; 0.16 did not.
    let rest = match rest.strip_prefix(", ") {
        Some(rest) => rest.strip_prefix(element)?.strip_prefix('>')?,
        None => rest.strip_prefix('>')?,
    };
    let consumed = after.len() - rest.len();
    Some((format!("Array{dims}<{element}>"), consumed))
}

/// Where the type that starts `s` ends: the first `>` or `,` outside brackets.
fn matching_close(s: &str) -> Option<usize> {
    let mut depth = 0_usize;
    for (i, c) in s.char_indices() {
        match c {
            '<' | '[' | '(' => depth += 1,
            '>' | ']' | ')' if depth > 0 => depth -= 1,
            '>' | ',' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn paths_go_and_arrays_get_their_aliases() {
        assert_eq!(
            short(
                "ndarray::ArrayBase<ndarray::data_repr::OwnedRepr<f32>, ndarray::dimension::dim::Dim<[usize; 2]>, f32>"
            ),
            "Array2<f32>"
        );
        assert_eq!(
            short(
                "ndarray::ArrayBase<ndarray::data_repr::OwnedRepr<u8>, ndarray::dimension::dim::Dim<ndarray::dimension::dynindeximpl::IxDynImpl>, u8>"
            ),
            "ArrayD<u8>"
        );
        assert_eq!(
            short("alloc::vec::Vec<alloc::string::String>"),
            "Vec<String>"
        );
        assert_eq!(
            short("std::collections::hash::map::HashMap<alloc::string::String, (i32, [f64; 3])>"),
            "HashMap<String, (i32, [f64; 3])>"
        );
        assert_eq!(short("&str"), "&str");
        assert_eq!(
            short(
                "core::option::Option<ndarray::ArrayBase<ndarray::data_repr::OwnedRepr<f64>, ndarray::dimension::dim::Dim<[usize; 0]>, f64>>"
            ),
            "Option<Array0<f64>>"
        );
        assert_eq!(
            short(
                "ndarray::ArrayBase<ndarray::data_repr::OwnedRepr<f64>, ndarray::dimension::dim::Dim<[usize; 2]>>"
            ),
            "Array2<f64>",
            "ndarray 0.16's two parameters"
        );
        assert_eq!(super::base("alloc::vec::Vec<alloc::string::String>"), "Vec");
        assert_eq!(super::base("f64"), "f64");
        // Views are not owned arrays: paths go, the rest stays.
        assert_eq!(
            short(
                "ndarray::ArrayBase<ndarray::ViewRepr<&f64>, ndarray::dimension::dim::Dim<[usize; 1]>, f64>"
            ),
            "ArrayBase<ViewRepr<&f64>, Dim<[usize; 1]>, f64>"
        );
    }
}
