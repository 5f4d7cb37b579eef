//! Parsing of `#[consume(topic = "...", group = "...", ...)]`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprArray, ExprLit, Lit, LitStr, Meta, Path, Token};

/// The keys `#[consume]` accepts, in the order error messages list them.
const KEYS: &[&str] = &[
    "topic",
    "group",
    "name",
    "concurrency",
    "batch",
    "batch_linger",
    "max_attempts",
    "backoff",
    "max_backoff",
    "dead_letter",
    "crate",
];

/// The parsed attribute arguments.
pub(crate) struct ConsumeArgs {
    /// One or more topics (`topic = "t"` or `topic = ["a", "b"]`).
    pub(crate) topics: Vec<LitStr>,
    pub(crate) group: Option<LitStr>,
    /// Overrides the handler name (defaults to the function's name).
    pub(crate) name: Option<LitStr>,
    /// Path of the runtime crate (defaults to `::consume_runtime`).
    pub(crate) krate: Option<Path>,
    /// `concurrency = N`.
    pub(crate) concurrency: Option<u32>,
    /// `batch = N`.
    pub(crate) batch: Option<u32>,
    /// `batch_linger = "20ms"`, in milliseconds.
    pub(crate) batch_linger_ms: Option<u64>,
    /// `max_attempts = N`.
    pub(crate) max_attempts: Option<u32>,
    /// `backoff = "100ms"`, in milliseconds.
    pub(crate) backoff_ms: Option<u64>,
    /// `max_backoff = "10s"`, in milliseconds.
    pub(crate) max_backoff_ms: Option<u64>,
    /// `dead_letter = "topic"` (`Some(Some)`) or `dead_letter = false` (`Some(None)`).
    pub(crate) dead_letter: Option<Option<LitStr>>,
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
        concurrency: None,
        batch: None,
        batch_linger_ms: None,
        max_attempts: None,
        backoff_ms: None,
        max_backoff_ms: None,
        dead_letter: None,
    };
    let mut batch_linger_span = None;
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
            "concurrency" => match int(&nv.value, "concurrency", 1, 10_000) {
                Ok(_) if args.concurrency.is_some() => push(duplicate(span, "concurrency")),
                Ok(n) => args.concurrency = Some(n),
                Err(e) => push(e),
            },
            "batch" => match int(&nv.value, "batch", 1, 100_000) {
                Ok(_) if args.batch.is_some() => push(duplicate(span, "batch")),
                Ok(n) => args.batch = Some(n),
                Err(e) => push(e),
            },
            "max_attempts" => match int(&nv.value, "max_attempts", 1, 1_000_000) {
                Ok(_) if args.max_attempts.is_some() => push(duplicate(span, "max_attempts")),
                Ok(n) => args.max_attempts = Some(n),
                Err(e) => push(e),
            },
            "batch_linger" => match duration(&nv.value, "batch_linger") {
                Ok(_) if args.batch_linger_ms.is_some() => push(duplicate(span, "batch_linger")),
                Ok(ms) => {
                    args.batch_linger_ms = Some(ms);
                    batch_linger_span = Some(span);
                }
                Err(e) => push(e),
            },
            "backoff" => match duration(&nv.value, "backoff") {
                Ok(_) if args.backoff_ms.is_some() => push(duplicate(span, "backoff")),
                Ok(ms) => args.backoff_ms = Some(ms),
                Err(e) => push(e),
            },
            "max_backoff" => match duration(&nv.value, "max_backoff") {
                Ok(_) if args.max_backoff_ms.is_some() => push(duplicate(span, "max_backoff")),
                Ok(ms) => args.max_backoff_ms = Some(ms),
                Err(e) => push(e),
            },
            "dead_letter" => {
                let parsed = match &nv.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Bool(b), ..
                    }) if !b.value => Ok(None),
                    other => string(other, "dead_letter").map(Some).map_err(|_| {
                        syn::Error::new_spanned(
                            other,
                            "`dead_letter` must be a topic name (`dead_letter = \"orders.dlq\"`) or `false`",
                        )
                    }),
                };
                match parsed {
                    Ok(_) if args.dead_letter.is_some() => push(duplicate(span, "dead_letter")),
                    Ok(d) => args.dead_letter = Some(d),
                    Err(e) => push(e),
                }
            }
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
    if let (Some(_), Some(c)) = (args.batch, args.concurrency)
        && c > 1
    {
        push(syn::Error::new(
            Span::call_site(),
            "`batch` and `concurrency` cannot be combined: a batch is handled as a whole, in order",
        ));
    }
    if let (None, Some(span)) = (args.batch, batch_linger_span) {
        push(syn::Error::new(
            span,
            "`batch_linger` needs `batch = N` (the most messages per batch)",
        ));
    }
    if let (Some(b), Some(m)) = (args.backoff_ms, args.max_backoff_ms)
        && m < b
    {
        push(syn::Error::new(
            Span::call_site(),
            "`max_backoff` must not be shorter than `backoff`",
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

/// An integer literal within `min..=max`.
fn int(expr: &Expr, key: &str, min: u64, max: u64) -> Result<u32, syn::Error> {
    let bad = || {
        syn::Error::new_spanned(
            expr,
            format!("`{key}` must be an integer from {min} to {max}, e.g. `{key} = {min}`"),
        )
    };
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => match i.base10_parse::<u64>() {
            Ok(v) if (min..=max).contains(&v) => u32::try_from(v).map_err(|_| bad()),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// A duration string such as `"250ms"`, `"2s"` or `"1m"`, in milliseconds.
fn duration(expr: &Expr, key: &str) -> Result<u64, syn::Error> {
    let bad = |s: &dyn quote::ToTokens| {
        syn::Error::new_spanned(
            s,
            format!("`{key}` must be a duration string such as \"250ms\", \"2s\" or \"1m\""),
        )
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Str(s), ..
    }) = expr
    else {
        return Err(bad(expr));
    };
    parse_duration_ms(&s.value()).ok_or_else(|| bad(s))
}

/// `"250ms"`, `"2s"`, `"1m"` → milliseconds.
pub(crate) fn parse_duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(digits);
    let n: u64 = n.parse().ok()?;
    let factor = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => return None,
    };
    n.checked_mul(factor)
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
    fn durations() {
        assert_eq!(super::parse_duration_ms("250ms"), Some(250));
        assert_eq!(super::parse_duration_ms("2s"), Some(2000));
        assert_eq!(super::parse_duration_ms("1m"), Some(60_000));
        assert_eq!(super::parse_duration_ms("2"), None);
        assert_eq!(super::parse_duration_ms("ms"), None);
        assert_eq!(super::parse_duration_ms("1h"), None);
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
