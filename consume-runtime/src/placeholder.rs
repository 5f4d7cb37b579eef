//! `${NAME}` / `${NAME:default}` placeholders in topics and groups, resolved at boot.

/// Replaces every placeholder with the variable's value (or its default). Returns the name
/// of the first variable that has neither.
pub(crate) fn resolve(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            // The macro rejects this at compile time; keep the text as is.
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(':') {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match lookup(name)
            .filter(|v| !v.is_empty())
            .or_else(|| default.map(str::to_owned))
        {
            Some(v) => out.push_str(&v),
            None => return Err(name.to_owned()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    fn env(name: &str) -> Option<String> {
        match name {
            "ENV" => Some("prod".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn resolves_values_and_defaults() {
        assert_eq!(resolve("plain", &env).as_deref(), Ok("plain"));
        assert_eq!(resolve("${ENV}.events", &env).as_deref(), Ok("prod.events"));
        assert_eq!(
            resolve("${MISSING:dev}.events", &env).as_deref(),
            Ok("dev.events")
        );
        assert_eq!(resolve("${EMPTY:x}", &env).as_deref(), Ok("x"));
        assert_eq!(
            resolve("a.${ENV}.${MISSING:b}", &env).as_deref(),
            Ok("a.prod.b")
        );
        assert_eq!(resolve("${MISSING}", &env), Err("MISSING".to_owned()));
    }
}
