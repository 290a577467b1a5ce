//! `#[functionfuse::node]`: derives a function's code version from its own
//! tokens, for [`Node::version`](https://docs.rs/functionfuse). Use it
//! through the `functionfuse` facade.
//!
//! ```text
//! #[functionfuse::node]
//! fn train(rows: &[f64], learning_rate: f64) -> f64 {
//!     rows.iter().sum::<f64>() * learning_rate
//! }
//! // defines `const TRAIN_VERSION: functionfuse::CodeVersion`
//! storage.node("wf", "train").version(TRAIN_VERSION).run(|| train(&rows, 0.1))?;
//! ```
//!
//! The version is a hash of the function's generics, parameters, return
//! type and body as tokens: reformatting and comments leave it alone, an
//! edit of those tokens changes it. The function's name and attributes
//! (its doc comment) are left out. It sees nothing outside the function:
//! not the functions, methods, constants, types or macros it uses, nor
//! dependency versions. Name the functions it calls, annotated with
//! `#[functionfuse::node]` too, in `uses(...)`, and their versions are
//! combined into this one: `#[functionfuse::node(uses(clean, features::scale))]`;
//! for anything else, add an explicit version of your own.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::{ItemFn, Meta, Path, Token};

/// Derives `const <NAME>_VERSION: functionfuse::CodeVersion` from the
/// function's tokens; see the crate documentation.
#[proc_macro_attribute]
pub fn node(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn expand(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let function: ItemFn = syn::parse2(item)?;
    let callees = callees(args)?;
    let signature = &function.sig;
    // Trailing commas of the signature's lists are formatting: rustfmt
    // adds one to every list it breaks over lines.
    let mut generics = signature.generics.clone();
    if generics.params.trailing_punct() {
        generics.params.pop_punct();
    }
    let mut where_clause = generics.where_clause.clone();
    if let Some(clause) = &mut where_clause
        && clause.predicates.trailing_punct()
    {
        clause.predicates.pop_punct();
    }
    let mut inputs = signature.inputs.clone();
    if inputs.trailing_punct() {
        inputs.pop_punct();
    }
    let (output, body) = (&signature.output, &function.block);
    // Tokens carry no whitespace or comments; the commas rustfmt adds or
    // removes are dropped too: formatting cannot change the version.
    let tokens = [
        quote!(#generics #where_clause),
        quote!(#inputs),
        quote!(#output),
        quote!(#body),
    ]
    .map(|part| normalized(part).to_string())
    .join(" ; ");
    let hash = xxhash_rust::xxh3::xxh3_128(tokens.as_bytes());
    let name = format_ident!(
        "{}_VERSION",
        signature.ident.to_string().to_uppercase(),
        span = signature.ident.span()
    );
    let visibility = &function.vis;
    let callee_versions = callees.iter().map(|path| {
        let mut path = path.clone();
        if let Some(last) = path.segments.last_mut() {
            last.ident = format_ident!(
                "{}_VERSION",
                last.ident.to_string().to_uppercase(),
                span = last.ident.span()
            );
        }
        quote!(.with(#path))
    });
    let doc = format!(
        "The code version of [`{}`], derived from its tokens by `#[functionfuse::node]`.",
        signature.ident
    );
    Ok(quote! {
        #function

        #[doc = #doc]
        #visibility const #name: ::functionfuse::CodeVersion =
            ::functionfuse::CodeVersion::new(#hash) #(#callee_versions)*;
    })
}

/// `tokens` without the commas formatting decides: a comma that ends a
/// list (`f(a, b,)`, `f(\n    long_argument,\n)`, the last field of a
/// vertical list; not the one of a 1-tuple `(x,)`, which means something)
/// and a comma after a braced block (`x => { … },`).
fn normalized(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    normalized_list(tokens, false)
}

/// [`normalized`] of a group's tokens; `lone_trailing`: a trailing comma
/// after a single item is formatting too (anything but a tuple).
fn normalized_list(
    tokens: proc_macro2::TokenStream,
    lone_trailing: bool,
) -> proc_macro2::TokenStream {
    use proc_macro2::{Delimiter, Group, TokenTree};
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let is_comma =
        |tree: &TokenTree| matches!(tree, TokenTree::Punct(punct) if punct.as_char() == ',');
    let commas = trees.iter().filter(|tree| is_comma(tree)).count();
    let mut kept = Vec::with_capacity(trees.len());
    for (index, tree) in trees.iter().enumerate() {
        let is_comma = is_comma(tree);
        let last = index + 1 == trees.len() && (commas > 1 || lone_trailing);
        let after_block = index > 0
            && matches!(&trees[index - 1], TokenTree::Group(group) if group.delimiter() == Delimiter::Brace);
        if is_comma && (last || after_block) {
            continue;
        }
        kept.push(match tree {
            TokenTree::Group(group) => {
                let tuple = group.delimiter() == Delimiter::Parenthesis && !calls(&trees[..index]);
                let mut inner =
                    Group::new(group.delimiter(), normalized_list(group.stream(), !tuple));
                inner.set_span(group.span());
                TokenTree::Group(inner)
            }
            other => other.clone(),
        });
    }
    kept.into_iter().collect()
}

/// Whether parentheses after `before` are arguments (a call, a macro, a
/// tuple struct or variant), not a tuple: they follow a name that is not
/// a keyword, a `!`, or the `>` of generic arguments (not of `->`).
fn calls(before: &[proc_macro2::TokenTree]) -> bool {
    use proc_macro2::TokenTree;
    /// Keywords a tuple may follow.
    const BEFORE_TUPLES: &[&str] = &[
        "let", "return", "in", "match", "if", "while", "for", "mut", "ref", "move", "else",
        "break", "yield", "as", "dyn", "impl",
    ];
    match before {
        [.., TokenTree::Ident(name)] => !BEFORE_TUPLES.contains(&name.to_string().as_str()),
        [.., TokenTree::Punct(bang)] if bang.as_char() == '!' => true,
        [.., TokenTree::Punct(arrow), TokenTree::Punct(close)]
            if close.as_char() == '>' && arrow.as_char() == '-' =>
        {
            false
        }
        [.., TokenTree::Punct(close)] => close.as_char() == '>',
        _ => false,
    }
}

/// The paths of `uses(a, b::c)`, the attribute's only argument.
fn callees(args: proc_macro2::TokenStream) -> syn::Result<Vec<Path>> {
    if args.is_empty() {
        return Ok(Vec::new());
    }
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut paths = Vec::new();
    for meta in metas {
        match meta {
            Meta::List(list) if list.path.is_ident("uses") => {
                let listed = Punctuated::<Path, Token![,]>::parse_terminated.parse2(list.tokens)?;
                paths.extend(listed);
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "expected `uses(function, ...)`: the functions this node calls, themselves \
                     annotated with #[functionfuse::node]",
                ));
            }
        }
    }
    Ok(paths)
}
