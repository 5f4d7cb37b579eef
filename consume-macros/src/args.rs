//! Parsing of `#[consume(topic = "...", group = "...", ...)]`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprArray, ExprLit, Lit, LitStr, Meta, Path, Token};

/// The keys `#[consume]` accepts, in the order error messages list them.
const KEYS: &[&str] = &["topic", "group", "name", "crate"];

/// The parsed attribute arguments.
pub(crate) struct ConsumeArgs {
    /// One or more topics (`topic = "t"` or `topic = ["a", "b"]`).
    pub(crate) topics: Vec<LitStr>,
    pub(crate) group: Option<LitStr>,
    /// Overrides the handler name (defaults to the function's name).
    pub(crate) name: Option<LitStr>,
    /// Path of the runtime crate (defaults to `::consume_runtime`).
    pub(crate) krate: Option<Path>,
}

/// Parses and validates the arguments; every problem found is reported, not just the first.
pub(crate) fn parse(tokens: proc_macro2::TokenStream) -> Result<ConsumeArgs, syn::Error> {
    let metas = syn::parse2::<MetaList>(tokens)?.0;
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };

    let mut topic_seen: Option<Span> = None;
    let mut args = ConsumeArgs {
        topics: Vec::new(),
        group: None,
        name: None,
        krate: None,
    };
    for meta in metas {
        let nv = match meta {
            Meta::NameValue(nv) => nv,
            other => {
                push(syn::Error::new_spanned(
                    &other,
                    format!("expected `key = \"value\"`; the keys are {}", key_list()),
                ));
                continue;
            }
        };
        let key = nv
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let span = syn::spanned::Spanned::span(&nv.path);
        match key.as_str() {
            "topic" => {
                if topic_seen.is_some() {
                    push(duplicate(span, "topic"));
                    continue;
                }
                topic_seen = Some(span);
                match topics(&nv.value) {
                    Ok(list) => args.topics = list,
                    Err(e) => push(e),
                }
            }
            "group" => match string(&nv.value, "group") {
                Ok(s) if args.group.is_some() => {
                    let _ = s;
                    push(duplicate(span, "group"));
                }
                Ok(s) => args.group = Some(s),
                Err(e) => push(e),
            },
            "name" => match string(&nv.value, "name") {
                Ok(_) if args.name.is_some() => push(duplicate(span, "name")),
                Ok(s) => args.name = Some(s),
                Err(e) => push(e),
            },
            "crate" => match string(&nv.value, "crate").and_then(|s| s.parse::<Path>()) {
                Ok(_) if args.krate.is_some() => push(duplicate(span, "crate")),
                Ok(p) => args.krate = Some(p),
                Err(e) => push(e),
            },
            _ => {
                let hint = KEYS
                    .iter()
                    .find(|k| edit_distance(k, &key) <= 2)
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                push(syn::Error::new(
                    span,
                    format!("unknown key `{key}`{hint}; expected one of {}", key_list()),
                ))
            }
        }
    }

    if topic_seen.is_none() {
        push(syn::Error::new(
            Span::call_site(),
            "missing `topic`: add `topic = \"<topic name>\"` (or `topic = [\"a\", \"b\"]`)",
        ));
    }
    if args.group.is_none() {
        push(syn::Error::new(
            Span::call_site(),
            "missing `group`: add `group = \"<consumer group id>\"`",
        ));
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(args),
    }
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn key_list() -> String {
    KEYS.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn duplicate(span: Span, key: &str) -> syn::Error {
    syn::Error::new(span, format!("`{key}` set more than once"))
}

/// A non-empty string literal, with `${VAR}` / `${VAR:default}` placeholders well formed.
fn string(expr: &Expr, key: &str) -> Result<LitStr, syn::Error> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let v = s.value();
            if v.trim().is_empty() {
                return Err(syn::Error::new_spanned(
                    s,
                    format!("`{key}` must not be empty"),
                ));
            }
            check_placeholders(&v).map_err(|msg| syn::Error::new_spanned(s, msg))?;
            Ok(s.clone())
        }
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` must be a string literal, e.g. `{key} = \"...\"`"),
        )),
    }
}

fn topics(expr: &Expr) -> Result<Vec<LitStr>, syn::Error> {
    match expr {
        Expr::Array(ExprArray { elems, .. }) => {
            if elems.is_empty() {
                return Err(syn::Error::new_spanned(
                    expr,
                    "`topic` must name at least one topic",
                ));
            }
            let mut out = Vec::with_capacity(elems.len());
            let mut err: Option<syn::Error> = None;
            for e in elems {
                match string(e, "topic") {
                    Ok(s) if out.iter().any(|t: &LitStr| t.value() == s.value()) => {
                        let e = syn::Error::new_spanned(&s, "this topic is listed twice");
                        match &mut err {
                            Some(all) => all.combine(e),
                            None => err = Some(e),
                        }
                    }
                    Ok(s) => out.push(s),
                    Err(e) => match &mut err {
                        Some(all) => all.combine(e),
                        None => err = Some(e),
                    },
                }
            }
            match err {
                Some(e) => Err(e),
                None => Ok(out),
            }
        }
        other => string(other, "topic").map(|s| vec![s]),
    }
}

/// Checks `${NAME}` / `${NAME:default}` syntax; the values are resolved by the runtime at boot.
pub(crate) fn check_placeholders(s: &str) -> Result<(), String> {
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!(
                "unclosed `${{` in \"{s}\": write `${{NAME}}` or `${{NAME:default}}`"
            ));
        };
        let name = after[..end].split(':').next().unwrap_or_default();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "bad placeholder `${{{}}}` in \"{s}\": the variable name must be letters, digits or `_`",
                &after[..end]
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

struct MetaList(Punctuated<Meta, Token![,]>);

impl Parse for MetaList {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(MetaList(Punctuated::parse_terminated(input)?))
    }
}

#[cfg(test)]
mod tests {
    use super::check_placeholders;

    #[test]
    fn edit_distances() {
        assert_eq!(super::edit_distance("group", "grup"), 1);
        assert_eq!(super::edit_distance("topic", "topics"), 1);
        assert!(super::edit_distance("crate", "name") > 2);
    }

    #[test]
    fn placeholders() {
        assert!(check_placeholders("plain").is_ok());
        assert!(check_placeholders("${TOPIC}").is_ok());
        assert!(check_placeholders("pre.${ENV:dev}.${X_1}").is_ok());
        assert!(check_placeholders("${TOPIC").is_err());
        assert!(check_placeholders("${}").is_err());
        assert!(check_placeholders("${a-b}").is_err());
    }
}
