//! Handler discovery: the registrations `#[consume]` submits, and their validation at boot.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::consumer::erased::ErasedHandler;
use crate::error::Error;
use crate::extract::StateMap;
use crate::options::{DeadLetter, HandlerOptions};
use crate::placeholder;

/// One `#[consume]` handler, as registered at link time. Built by the macro; not meant to be
/// written by hand (but possible: see the equivalent code in the `#[consume]` docs).
#[derive(Debug)]
pub struct Registration {
    /// Handler name (the function's name unless `name = "..."`).
    pub name: &'static str,
    /// Topics, possibly with `${VAR}` placeholders.
    pub topics: &'static [&'static str],
    /// Consumer group, possibly with placeholders.
    pub group: &'static str,
    /// `module_path!()` of the handler.
    pub module_path: &'static str,
    /// `file!()` of the handler.
    pub file: &'static str,
    /// `line!()` of the handler.
    pub line: u32,
    /// Builds the type-erased handler.
    pub make: fn() -> ErasedHandler,
    /// Concurrency, batching, retry and dead-letter settings.
    pub options: HandlerOptions,
}

inventory::collect!(Registration);

impl Registration {
    /// `file:line` of the handler.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// Every registration linked into the binary, in a stable order (inventory's is not).
pub fn registrations() -> Vec<&'static Registration> {
    let mut all: Vec<&'static Registration> = inventory::iter::<Registration>.into_iter().collect();
    all.sort_by(|a, b| (a.group, a.name, a.file, a.line).cmp(&(b.group, b.name, b.file, b.line)));
    all
}

/// A handler resolved for this run: placeholders substituted, validated.
#[derive(Debug, Clone)]
pub struct HandlerPlan {
    /// Handler name.
    pub name: String,
    /// Resolved topics.
    pub topics: Vec<String>,
    /// Resolved group.
    pub group: String,
    /// `file:line`.
    pub location: String,
    /// `module_path!()`.
    pub module_path: String,
    /// Concurrency, batching, retry and dead-letter settings.
    pub options: HandlerOptions,
    /// Where failed records of each topic go, `(topic, dead-letter topic)`; `None` when dead
    /// letters are off (for this handler, or for the whole runtime).
    dead_letters: Option<Vec<(String, String)>>,
    pub(crate) handler: ErasedHandler,
}

impl HandlerPlan {
    /// Where failed records of `topic` go: `None` if this handler has dead letters off.
    pub fn dead_letter_topic(&self, topic: &str) -> Option<String> {
        self.dead_letter_routes()?
            .iter()
            .find(|(t, _)| t == topic)
            .map(|(_, dlq)| dlq.clone())
    }

    /// Every `(topic, dead-letter topic)` of this handler; `None` if dead letters are off.
    pub fn dead_letter_routes(&self) -> Option<&[(String, String)]> {
        self.dead_letters.as_deref()
    }
}

/// The one place that decides where a handler's failed records go: nowhere (`dead_letter =
/// false`, or dead letters off for the runtime), one named topic (`dead_letter = "..."`,
/// placeholders resolved), or `<topic>.<group>.dlq` per topic.
fn dead_letter_routes(
    runtime_on: bool,
    option: DeadLetter,
    named: Option<&str>,
    topics: &[String],
    group: &str,
) -> Option<Vec<(String, String)>> {
    if !runtime_on {
        return None;
    }
    let route = |t: &String| match (option, named) {
        (DeadLetter::Topic(_), Some(named)) => named.to_owned(),
        _ => crate::dead_letter_topic(t, group),
    };
    match option {
        DeadLetter::Off => None,
        DeadLetter::Default | DeadLetter::Topic(_) => {
            Some(topics.iter().map(|t| (t.clone(), route(t))).collect())
        }
    }
}

/// Resolves and validates `regs` against the handler filter and the provided state.
///
/// `selectors` (empty: all handlers) are handler names or `group:<group id>`.
pub(crate) fn plan(
    regs: &[&Registration],
    selectors: &[String],
    state: &StateMap,
    dead_letters: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Arc<HandlerPlan>>, Error> {
    let plans = resolve(regs, selectors, dead_letters, lookup)?;
    // Every `State<T>` is provided.
    for p in &plans {
        for (id, type_name, hint) in p.handler.requirements().states {
            if !state.contains(id) {
                return Err(Error::MissingState {
                    handler: p.name.clone(),
                    at: p.location.clone(),
                    type_name,
                    hint,
                });
            }
        }
    }
    Ok(plans.into_iter().map(Arc::new).collect())
}

/// [`plan`] without the state check: what the handlers are, not whether they can run (the
/// AsyncAPI export needs no state).
pub(crate) fn resolve(
    regs: &[&Registration],
    selectors: &[String],
    dead_letters: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<HandlerPlan>, Error> {
    // Names are unique (they select handlers and label metrics).
    let mut by_name: BTreeMap<&str, &Registration> = BTreeMap::new();
    for r in regs {
        if let Some(first) = by_name.insert(r.name, r) {
            return Err(Error::DuplicateName {
                name: r.name.to_owned(),
                first_at: first.location(),
                second_at: r.location(),
            });
        }
    }

    // Resolve placeholders; a failure only matters if the handler is selected.
    let mut resolved: Vec<Result<HandlerPlan, Error>> = Vec::with_capacity(regs.len());
    for r in regs {
        let at = r.location();
        let resolve = |template: &str| {
            placeholder::resolve(template, lookup).map_err(|var| Error::UnresolvedPlaceholder {
                handler: r.name.to_owned(),
                at: at.clone(),
                var,
                template: template.to_owned(),
            })
        };
        let plan = resolve(r.group).and_then(|group| {
            let topics = r
                .topics
                .iter()
                .map(|t| resolve(t))
                .collect::<Result<Vec<_>, _>>()?;
            let named = match r.options.dead_letter {
                DeadLetter::Topic(t) => Some(resolve(t)?),
                _ => None,
            };
            let dead_letters = dead_letter_routes(
                dead_letters,
                r.options.dead_letter,
                named.as_deref(),
                &topics,
                &group,
            );
            let handler = (r.make)();
            check_options(r, &handler)?;
            Ok(HandlerPlan {
                name: r.name.to_owned(),
                topics,
                group,
                location: at.clone(),
                module_path: r.module_path.to_owned(),
                options: r.options,
                dead_letters,
                handler,
            })
        });
        resolved.push(plan);
    }

    // The filter: by name, or by (resolved) group.
    let matches = |s: &str, i: usize| match (s.strip_prefix("group:"), &resolved[i]) {
        (Some(g), Ok(p)) => p.group == g,
        (Some(_), Err(_)) => false,
        (None, _) => regs[i].name == s,
    };
    let keep: Vec<bool> = (0..regs.len())
        .map(|i| selectors.is_empty() || selectors.iter().any(|s| matches(s, i)))
        .collect();
    for s in selectors {
        let hit = (0..regs.len()).any(|i| matches(s, i));
        if !hit {
            let known = regs
                .iter()
                .zip(&resolved)
                .map(|(r, p)| match p {
                    Ok(p) => format!("{} (group:{})", r.name, p.group),
                    Err(_) => format!("{} (group:{})", r.name, r.group),
                })
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::UnknownSelector {
                selector: s.clone(),
                known: if known.is_empty() {
                    "none".to_owned()
                } else {
                    known
                },
            });
        }
    }
    let mut plans = Vec::new();
    for (i, p) in resolved.into_iter().enumerate() {
        if keep[i] {
            plans.push(p?);
        }
    }
    if plans.is_empty() {
        return Err(Error::NoHandlers {
            filter: if selectors.is_empty() {
                String::new()
            } else {
                format!(" matching {selectors:?}")
            },
        });
    }

    // One handler per (topic, group).
    let mut owners: BTreeMap<(&str, &str), &HandlerPlan> = BTreeMap::new();
    for p in &plans {
        for t in &p.topics {
            if let Some(first) = owners.insert((t.as_str(), p.group.as_str()), p) {
                return Err(Error::DuplicateHandler {
                    topic: t.clone(),
                    group: p.group.clone(),
                    first: format!("`{}` ({})", first.name, first.location),
                    second: format!("`{}` ({})", p.name, p.location),
                });
            }
        }
    }
    Ok(plans)
}

/// Options that contradict each other or the handler's shape (the macro prevents these; a
/// hand-written registration might not).
fn check_options(r: &Registration, handler: &ErasedHandler) -> Result<(), Error> {
    let o = &r.options;
    let bad = |why: String| {
        Err(Error::Config(format!(
            "handler `{}` ({}): {why}",
            r.name,
            r.location()
        )))
    };
    if o.concurrency == 0 {
        return bad("`concurrency` must be at least 1".to_owned());
    }
    match (o.batch, handler.is_batch()) {
        (Some(b), true) if b.max_size == 0 => bad("`batch` must be at least 1".to_owned()),
        (Some(_), true) if o.concurrency > 1 => {
            bad("`batch` and `concurrency` cannot be combined".to_owned())
        }
        (Some(_), false) => bad("`batch` is set but the handler takes no `Batch<T>`".to_owned()),
        (None, true) => bad("the handler takes a `Batch<T>` but `batch = N` is not set".to_owned()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::erased::erase;
    use crate::extract::State;

    async fn plain() {}
    async fn needs_state(_s: State<u32>) {}

    fn make_plain() -> ErasedHandler {
        erase(plain)
    }
    fn make_stateful() -> ErasedHandler {
        erase(needs_state)
    }

    fn reg(
        name: &'static str,
        topics: &'static [&'static str],
        group: &'static str,
    ) -> Registration {
        Registration {
            name,
            topics,
            group,
            module_path: "m",
            file: "f.rs",
            line: 1,
            make: make_plain,
            options: HandlerOptions::DEFAULT,
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn no_handlers_says_how_to_link_a_crate() {
        let e = plan(&[], &[], &StateMap::new(), true, &no_env).expect_err("empty");
        assert!(e.to_string().contains("use that_crate as _;"), "{e}");
    }

    #[test]
    fn same_topic_twice_in_one_group_is_refused() {
        let a = reg("a", &["t"], "g");
        let b = reg("b", &["x", "t"], "g");
        let e = plan(&[&a, &b], &[], &StateMap::new(), true, &no_env).expect_err("dup");
        assert!(
            matches!(e, Error::DuplicateHandler { ref topic, .. } if topic == "t"),
            "{e}"
        );
        // Different groups may read the same topic.
        let c = reg("c", &["t"], "other");
        assert_eq!(
            plan(&[&a, &c], &[], &StateMap::new(), true, &no_env)
                .expect("ok")
                .len(),
            2
        );
    }

    #[test]
    fn duplicate_names_are_refused() {
        let a = reg("a", &["t1"], "g");
        let b = reg("a", &["t2"], "g2");
        assert!(matches!(
            plan(&[&a, &b], &[], &StateMap::new(), true, &no_env),
            Err(Error::DuplicateName { .. })
        ));
    }

    #[test]
    fn missing_state_names_the_type_and_handler() {
        let r = Registration {
            make: make_stateful,
            ..reg("stateful", &["t"], "g")
        };
        let e = plan(&[&r], &[], &StateMap::new(), true, &no_env).expect_err("missing");
        let msg = e.to_string();
        assert!(
            msg.contains("`u32`") && msg.contains("stateful") && msg.contains("f.rs:1"),
            "{msg}"
        );
        let mut st = StateMap::new();
        st.insert(7u32);
        assert!(plan(&[&r], &[], &st, true, &no_env).is_ok());
    }

    #[test]
    fn placeholders_resolve_or_fail_clearly() {
        let r = reg("p", &["${ENV:dev}.events"], "${GROUP}");
        let e = plan(&[&r], &[], &StateMap::new(), true, &no_env).expect_err("unset");
        assert!(e.to_string().contains("`GROUP`"), "{e}");
        let env = |n: &str| (n == "GROUP").then(|| "billing".to_owned());
        let p = plan(&[&r], &[], &StateMap::new(), true, &env).expect("resolved");
        assert_eq!(p[0].group, "billing");
        assert_eq!(p[0].topics, vec!["dev.events".to_owned()]);
    }

    #[test]
    fn unselected_handlers_may_have_unresolved_placeholders() {
        let a = reg("a", &["t1"], "g1");
        let b = reg("b", &["${UNSET}"], "g2");
        let p = plan(&[&a, &b], &["a".into()], &StateMap::new(), true, &no_env)
            .expect("b is not selected");
        assert_eq!(p.len(), 1);
        let e = plan(&[&a, &b], &["b".into()], &StateMap::new(), true, &no_env).expect_err("b is");
        assert!(matches!(e, Error::UnresolvedPlaceholder { .. }), "{e}");
    }

    #[test]
    fn dead_letter_routes_are_decided_in_one_place() {
        let topics = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            dead_letter_routes(true, DeadLetter::Default, None, &topics, "g"),
            Some(vec![
                ("a".to_owned(), "a.g.dlq".to_owned()),
                ("b".to_owned(), "b.g.dlq".to_owned())
            ])
        );
        assert_eq!(
            dead_letter_routes(
                true,
                DeadLetter::Topic("x"),
                Some("x.resolved"),
                &topics,
                "g"
            ),
            Some(vec![
                ("a".to_owned(), "x.resolved".to_owned()),
                ("b".to_owned(), "x.resolved".to_owned())
            ])
        );
        assert_eq!(
            dead_letter_routes(true, DeadLetter::Off, None, &topics, "g"),
            None
        );
        assert_eq!(
            dead_letter_routes(false, DeadLetter::Default, None, &topics, "g"),
            None
        );
        let r = reg("p", &["t"], "g");
        let p = plan(&[&r], &[], &StateMap::new(), false, &no_env).expect("ok");
        assert_eq!(p[0].dead_letter_topic("t"), None, "runtime switch off");
        let p = plan(&[&r], &[], &StateMap::new(), true, &no_env).expect("ok");
        assert_eq!(p[0].dead_letter_topic("t").as_deref(), Some("t.g.dlq"));
    }

    #[test]
    fn filters_by_name_or_group() {
        let a = reg("a", &["t1"], "g1");
        let b = reg("b", &["t2"], "g2");
        let only_a = plan(&[&a, &b], &["a".into()], &StateMap::new(), true, &no_env).expect("ok");
        assert_eq!(
            only_a.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        let g2 = plan(
            &[&a, &b],
            &["group:g2".into()],
            &StateMap::new(),
            true,
            &no_env,
        )
        .expect("ok");
        assert_eq!(
            g2.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        let e = plan(&[&a, &b], &["nope".into()], &StateMap::new(), true, &no_env)
            .expect_err("unknown");
        assert!(e.to_string().contains("a (group:g1)"), "{e}");
    }
}
