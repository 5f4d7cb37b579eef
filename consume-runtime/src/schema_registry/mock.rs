//! The in-process registry behind `mock://<scope>` URLs: shared by every client of a scope,
//! for tests and the embedded demo. Ids count from 1 per scope.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use super::{RegistryError, SubjectVersion};

static SCOPES: LazyLock<Mutex<HashMap<String, Arc<MockRegistry>>>> =
    LazyLock::new(Default::default);

#[derive(Default)]
pub(super) struct MockRegistry {
    scope: String,
    state: Mutex<State>,
    down: AtomicBool,
    /// Calls made, as a real registry would count requests.
    calls: AtomicUsize,
}

#[derive(Default)]
struct State {
    /// Schema texts; id = index + 1.
    schemas: Vec<String>,
    /// Subject → ids of its versions, oldest first.
    subjects: HashMap<String, Vec<u32>>,
}

impl MockRegistry {
    pub(super) fn scope(scope: &str) -> Arc<MockRegistry> {
        let mut all = SCOPES.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(all.entry(scope.to_owned()).or_insert_with(|| {
            Arc::new(MockRegistry {
                scope: scope.to_owned(),
                ..Default::default()
            })
        }))
    }

    fn url(&self) -> String {
        format!("mock://{}", self.scope)
    }

    fn state(&self) -> Result<std::sync::MutexGuard<'_, State>, RegistryError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(RegistryError::Unavailable {
                url: self.url(),
                cause: "mock registry set unavailable".to_owned(),
            });
        }
        Ok(self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Calls made so far (each would be a request to a real registry).
    #[cfg(test)]
    pub(super) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub(super) fn set_unavailable(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub(super) fn schema_by_id(&self, id: u32) -> Result<String, RegistryError> {
        let st = self.state()?;
        id.checked_sub(1)
            .and_then(|i| st.schemas.get(i as usize))
            .cloned()
            .ok_or_else(|| RegistryError::NotFound {
                url: self.url(),
                what: format!("schema id {id}"),
            })
    }

    pub(super) fn latest(&self, subject: &str) -> Result<SubjectVersion, RegistryError> {
        let st = self.state()?;
        let versions = st
            .subjects
            .get(subject)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| RegistryError::NotFound {
                url: self.url(),
                what: format!("subject `{subject}`"),
            })?;
        let id = versions[versions.len() - 1];
        Ok(SubjectVersion {
            subject: subject.to_owned(),
            version: versions.len() as i32,
            id,
            schema: st.schemas[(id - 1) as usize].clone(),
        })
    }

    pub(super) fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let mut st = self.state()?;
        let wanted = canonical(schema);
        let id = match st.schemas.iter().position(|s| canonical(s) == wanted) {
            Some(i) => (i + 1) as u32,
            None => {
                st.schemas.push(schema.to_owned());
                st.schemas.len() as u32
            }
        };
        let versions = st.subjects.entry(subject.to_owned()).or_default();
        if !versions.contains(&id) {
            versions.push(id);
        }
        Ok(id)
    }

    pub(super) fn lookup(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let st = self.state()?;
        let wanted = canonical(schema);
        st.subjects
            .get(subject)
            .and_then(|ids| {
                ids.iter()
                    .find(|id| canonical(&st.schemas[(**id - 1) as usize]) == wanted)
            })
            .copied()
            .ok_or_else(|| RegistryError::NotFound {
                url: self.url(),
                what: format!("this schema under subject `{subject}`"),
            })
    }

    pub(super) fn is_compatible(&self, _subject: &str, _schema: &str) -> bool {
        // The mock accepts everything (like a registry with compatibility NONE).
        true
    }
}

/// Schemas equal as JSON are the same schema.
fn canonical(schema: &str) -> serde_json::Value {
    serde_json::from_str(schema).unwrap_or_else(|_| serde_json::Value::String(schema.to_owned()))
}
