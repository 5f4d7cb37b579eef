//! The boot-time schema check: every `Avro<T>` handler's type must be able to read the
//! latest writer schema of each of its topics (subject `<topic>-value`), so an incompatible
//! deployment fails at start instead of dead-lettering every message.

use std::sync::Arc;

use crate::avro::Prepared;
use crate::error::Error;
use crate::extract::StateMap;
use crate::registry::HandlerPlan;
use crate::schema_registry::{RegistryError, SchemaRegistry};

/// What to do when the check finds a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaCheck {
    /// Refuse to start (the default).
    #[default]
    Fail,
    /// Log a warning and start.
    Warn,
    /// Do not check.
    Off,
}

impl SchemaCheck {
    /// From `CONSUME_SCHEMA_CHECK` (`fail`, `warn`, `off`).
    pub(crate) fn parse(v: &str) -> Result<Self, Error> {
        match v.trim().to_ascii_lowercase().as_str() {
            "fail" => Ok(SchemaCheck::Fail),
            "warn" => Ok(SchemaCheck::Warn),
            "off" => Ok(SchemaCheck::Off),
            other => Err(Error::Config(format!(
                "CONSUME_SCHEMA_CHECK={other:?}: expected `fail`, `warn` or `off`"
            ))),
        }
    }
}

/// Runs the check for every plan.
pub(crate) async fn run(
    plans: &[Arc<HandlerPlan>],
    state: &StateMap,
    mode: SchemaCheck,
) -> Result<(), Error> {
    if mode == SchemaCheck::Off {
        return Ok(());
    }
    let Some(registry) = state.get::<SchemaRegistry>() else {
        return Ok(()); // handlers needing one already failed the requirements check
    };
    for p in plans {
        for (type_name, reader_schema) in p.handler.requirements().avro_readers {
            let reader =
                apache_avro::Schema::parse_str(reader_schema).map_err(|e| Error::SchemaCheck {
                    handler: p.name.clone(),
                    cause: format!("the Avro schema of `{type_name}` does not parse: {e}"),
                })?;
            for topic in &p.topics {
                let subject = format!("{topic}-value");
                let problem = match registry.latest(&subject).await {
                    Ok(latest) => match apache_avro::Schema::parse_str(&latest.schema) {
                        Ok(writer) => match Prepared::new(&writer, &reader) {
                            Ok(_) => {
                                tracing::info!(handler = %p.name, subject, version = latest.version, id = latest.id, "schema check passed");
                                None
                            }
                            Err(m) => Some(Error::IncompatibleSchema {
                                handler: p.name.clone(),
                                at: p.location.clone(),
                                type_name,
                                subject: subject.clone(),
                                version: latest.version,
                                id: latest.id,
                                detail: m.0,
                            }),
                        },
                        Err(e) => Some(Error::SchemaCheck {
                            handler: p.name.clone(),
                            cause: format!(
                                "the registry's latest schema of `{subject}` does not parse: {e}"
                            ),
                        }),
                    },
                    Err(RegistryError::NotFound { .. }) => {
                        tracing::warn!(handler = %p.name, subject, "no schema registered yet; messages will be resolved as they come");
                        None
                    }
                    Err(e) => Some(Error::SchemaCheck {
                        handler: p.name.clone(),
                        cause: e.to_string(),
                    }),
                };
                if let Some(e) = problem {
                    if mode == SchemaCheck::Fail {
                        return Err(e);
                    }
                    tracing::warn!(handler = %p.name, "{e}");
                }
            }
        }
    }
    Ok(())
}
