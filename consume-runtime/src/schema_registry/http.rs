//! The Confluent REST API over HTTP(S), with timeouts, basic auth and bounded retries of
//! transient failures.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{RegistryConfig, RegistryError, SubjectVersion};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

pub(super) struct HttpRegistry {
    client: Client,
    base: Url,
    username: Option<String>,
    password: Option<crate::secret::Secret>,
    attempts: u32,
}

#[derive(Deserialize)]
struct SchemaById {
    schema: String,
}

#[derive(Deserialize)]
struct Latest {
    subject: String,
    version: i32,
    id: u32,
    schema: String,
}

#[derive(Deserialize)]
struct Registered {
    id: u32,
}

#[derive(Deserialize)]
struct Compatibility {
    is_compatible: bool,
}

impl HttpRegistry {
    pub(super) fn new(c: &RegistryConfig) -> Result<Self, RegistryError> {
        let mut base = Url::parse(&c.url).map_err(|e| {
            RegistryError::Config(format!("bad SCHEMA_REGISTRY_URL {:?}: {e}", c.url))
        })?;
        if base.cannot_be_a_base() {
            return Err(RegistryError::Config(format!(
                "bad SCHEMA_REGISTRY_URL {:?}",
                c.url
            )));
        }
        // Treat the URL as a directory, whatever its trailing slash.
        let trimmed = base.path().trim_end_matches('/').to_owned();
        base.set_path(&trimmed);
        let client = Client::builder()
            .timeout(c.timeout)
            .connect_timeout(c.timeout)
            .build()
            .map_err(|e| RegistryError::Config(e.to_string()))?;
        Ok(Self {
            client,
            base,
            username: c.username.clone(),
            password: c.password.clone(),
            attempts: c.attempts.max(1),
        })
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut u = self.base.clone();
        if let Ok(mut path) = u.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        u
    }

    fn shown(&self) -> String {
        self.base.as_str().to_owned()
    }

    /// Sends with retries of transient failures; returns the status and parsed JSON body.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), RegistryError> {
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            let mut req = self
                .client
                .request(method.clone(), url.clone())
                .header("Accept", CONTENT_TYPE);
            if let Some(u) = &self.username {
                req = req.basic_auth(u, self.password.as_ref().map(|p| p.expose()));
            }
            if let Some(b) = &body {
                req = req.header("Content-Type", CONTENT_TYPE).body(b.to_string());
            }
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_server_error()
                        || status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::REQUEST_TIMEOUT
                    {
                        last = format!("HTTP {status}");
                    } else {
                        let text = resp.text().await.unwrap_or_default();
                        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                        return Ok((status, value));
                    }
                }
                Err(e) => last = e.without_url().to_string(),
            }
            if attempt < self.attempts {
                tokio::time::sleep(Duration::from_millis(100 << (attempt - 1).min(5))).await;
            }
        }
        Err(RegistryError::Unavailable {
            url: self.shown(),
            cause: format!("{last} (after {} attempts)", self.attempts),
        })
    }

    fn classify(
        &self,
        status: StatusCode,
        body: &Value,
        what: String,
        subject: &str,
    ) -> RegistryError {
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| body.to_string());
        match status {
            StatusCode::NOT_FOUND => RegistryError::NotFound {
                url: self.shown(),
                what,
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => RegistryError::Unauthorized {
                url: self.shown(),
                status: status.as_u16(),
            },
            StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
                RegistryError::Incompatible {
                    url: self.shown(),
                    subject: subject.to_owned(),
                    message,
                }
            }
            _ => RegistryError::BadResponse {
                url: self.shown(),
                detail: format!("HTTP {status} for {what}: {message}"),
            },
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        body: Value,
        what: &str,
    ) -> Result<T, RegistryError> {
        serde_json::from_value(body).map_err(|e| RegistryError::BadResponse {
            url: self.shown(),
            detail: format!("{what}: {e}"),
        })
    }

    pub(super) async fn schema_by_id(&self, id: u32) -> Result<String, RegistryError> {
        let url = self.url(&["schemas", "ids", &id.to_string()]);
        let (status, body) = self.call(Method::GET, url, None).await?;
        if !status.is_success() {
            return Err(self.classify(status, &body, format!("schema id {id}"), ""));
        }
        Ok(self.parse::<SchemaById>(body, "schema by id")?.schema)
    }

    pub(super) async fn latest(&self, subject: &str) -> Result<SubjectVersion, RegistryError> {
        let url = self.url(&["subjects", subject, "versions", "latest"]);
        let (status, body) = self.call(Method::GET, url, None).await?;
        if !status.is_success() {
            return Err(self.classify(status, &body, format!("subject `{subject}`"), subject));
        }
        let l: Latest = self.parse(body, "latest version")?;
        Ok(SubjectVersion {
            subject: l.subject,
            version: l.version,
            id: l.id,
            schema: l.schema,
        })
    }

    pub(super) async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let url = self.url(&["subjects", subject, "versions"]);
        let (status, body) = self
            .call(Method::POST, url, Some(json!({ "schema": schema })))
            .await?;
        if !status.is_success() {
            return Err(self.classify(status, &body, format!("subject `{subject}`"), subject));
        }
        Ok(self.parse::<Registered>(body, "register")?.id)
    }

    pub(super) async fn lookup(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let url = self.url(&["subjects", subject]);
        let (status, body) = self
            .call(Method::POST, url, Some(json!({ "schema": schema })))
            .await?;
        if !status.is_success() {
            return Err(self.classify(
                status,
                &body,
                format!("this schema under subject `{subject}`"),
                subject,
            ));
        }
        Ok(self.parse::<Registered>(body, "lookup")?.id)
    }

    pub(super) async fn is_compatible(
        &self,
        subject: &str,
        schema: &str,
    ) -> Result<bool, RegistryError> {
        let url = self.url(&["compatibility", "subjects", subject, "versions", "latest"]);
        let (status, body) = self
            .call(Method::POST, url, Some(json!({ "schema": schema })))
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(true);
        }
        if !status.is_success() {
            return Err(self.classify(status, &body, format!("subject `{subject}`"), subject));
        }
        Ok(self
            .parse::<Compatibility>(body, "compatibility")?
            .is_compatible)
    }
}
