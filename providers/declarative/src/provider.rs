//! A loaded provider file at work: captures → requests → attributes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use minijinja::Value;
use notion_unfurl_sdk::trusted::join;
use notion_unfurl_sdk::{
    Context, Pattern, Preview, Provider, ProviderError, Secret, UnfurlRequest, Url, async_trait,
};

use crate::model::{Compiled, Credentials};
use crate::template::{self, segment};
use crate::upstream::{Answer, Call, Live, Upstream};

/// A provider defined by a file.
#[derive(Debug, Clone)]
pub struct Declarative {
    compiled: Arc<Compiled>,
    upstream: Arc<dyn Upstream>,
}

impl Declarative {
    /// The provider talking to its real upstream.
    pub fn live(compiled: Compiled, user_agent: &str) -> Result<Self, String> {
        let live = Live::new(
            compiled.requests.iter().map(|r| (r.name.as_str(), &r.base)),
            user_agent,
        )?;
        Ok(Self {
            compiled: Arc::new(compiled),
            upstream: Arc::new(live),
        })
    }

    /// The same provider reading from `upstream` instead (recorded answers in tests).
    pub fn with_upstream(&self, upstream: Arc<dyn Upstream>) -> Self {
        Self {
            compiled: self.compiled.clone(),
            upstream,
        }
    }

    /// Where this provider's requests go (to wrap it, as [`crate::save`] does).
    pub fn upstream(&self) -> Arc<dyn Upstream> {
        self.upstream.clone()
    }

    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    fn token(&self, ctx: &Context) -> Result<Option<Secret>, ProviderError> {
        match &self.compiled.credentials {
            Credentials::None => Ok(None),
            Credentials::Secret(secret) => Ok(Some(secret.clone())),
            Credentials::Account { service, display } => {
                // Only the token of the service the file declares: a provider for another
                // host never sees the account's GitHub token.
                let token = ctx
                    .account
                    .as_ref()
                    .and_then(|a| a.token_for(service).cloned());
                token.map(Some).ok_or_else(|| ProviderError::Unauthorized {
                    hint: Some(format!(
                        "Connect your {display} account to preview this link \
                         (connect this integration again in Notion to link it)."
                    )),
                })
            }
        }
    }

    /// The error for a refused answer, named for the service.
    fn refused(&self, answer: &Answer) -> ProviderError {
        let c = &self.compiled;
        let service = match &c.credentials {
            Credentials::Account { display, .. } => Some(display.as_str()),
            _ => None,
        };
        match answer.status {
            404 | 410 => ProviderError::NotFound { hint: None },
            401 => ProviderError::Unauthorized {
                hint: Some(match service {
                    Some(s) => format!("Reconnect your {s} account to preview this link."),
                    None => format!("This server's {} credentials were refused.", c.name),
                }),
            },
            403 => ProviderError::Forbidden {
                hint: service.map(|s| format!("Your {s} account does not have access to this.")),
            },
            429 => ProviderError::RateLimited {
                retry_after: answer
                    .header("retry-after")
                    .and_then(|v| v.trim().parse().ok())
                    .map(Duration::from_secs),
                hint: None,
            },
            status => ProviderError::Upstream {
                status: Some(status),
            },
        }
    }

    fn invalid(&self, what: &str, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::Invalid {
            reason: format!("{} {what}: {e}", self.compiled.file.display()),
        }
    }

    fn call(
        &self,
        request: &crate::model::Request,
        captures: &BTreeMap<String, String>,
        values: &BTreeMap<String, Value>,
        secret: Option<&Secret>,
    ) -> Result<Call, ProviderError> {
        let t = &self.compiled.templates;
        // Captures enter the path escaped as one segment each (raw ones keep `/`).
        let mut path_ctx = values.clone();
        for (name, value) in captures {
            let escaped = if request.raw.contains(name) {
                if value.split('/').any(|s| s == ".." || s == ".") {
                    return Err(ProviderError::NotFound { hint: None });
                }
                template::path(value)
            } else {
                segment(value)
            };
            path_ctx.insert(name.clone(), Value::from(escaped));
        }
        let path = t
            .render(&request.path, &Value::from(path_ctx))
            .map_err(|e| self.invalid(&format!("request {} path", request.name), e))?;
        let mut url = join(&request.base, &path).map_err(|e| ProviderError::Blocked {
            reason: e.to_string(),
        })?;
        let mut with_secret = values.clone();
        if let Some(s) = secret {
            with_secret.insert("secret".into(), Value::from(s.expose()));
        }
        let with_secret = Value::from(with_secret);
        if !request.query.is_empty() {
            let mut pairs = Vec::new();
            for (key, tpl) in &request.query {
                let v = t.render(tpl, &with_secret).map_err(|e| {
                    self.invalid(&format!("request {} query {key}", request.name), e)
                })?;
                pairs.push((key.clone(), v));
            }
            url.query_pairs_mut().extend_pairs(pairs);
        }
        let mut headers = Vec::new();
        for (key, tpl) in &request.headers {
            let v = t
                .render(tpl, &with_secret)
                .map_err(|e| self.invalid(&format!("request {} header {key}", request.name), e))?;
            headers.push((key.clone(), v));
        }
        Ok(Call {
            name: request.name.clone(),
            url,
            headers,
            max_bytes: request.max_bytes,
            timeout: request.timeout,
        })
    }

    /// The attributes, from everything read.
    fn attributes(
        &self,
        context: &Value,
    ) -> Result<Vec<notion_unfurl_sdk::Attribute>, ProviderError> {
        let t = &self.compiled.templates;
        let mut out = Vec::new();
        for rule in &self.compiled.rules {
            if let Some(when) = &rule.when
                && !t
                    .holds(when, context)
                    .map_err(|e| self.invalid(&format!("attribute {} when", rule.id), e))?
            {
                continue;
            }
            let value = t
                .render(&rule.value, context)
                .map_err(|e| self.invalid(&format!("attribute {}", rule.id), e))?;
            if let Some(a) = rule
                .build(&value)
                .map_err(|e| self.invalid(&format!("attribute {}", rule.id), e))?
            {
                out.push(a);
            }
        }
        Ok(out)
    }
}

/// Reads the page's fields with the file's selectors.
fn page_fields(html: &str, page: &crate::model::Page) -> BTreeMap<String, String> {
    let document = scraper::Html::parse_document(html);
    let mut fields = BTreeMap::new();
    for (name, selector, attr) in &page.fields {
        let Some(element) = document.select(selector).next() else {
            continue;
        };
        let value = match attr {
            Some(attr) => element.value().attr(attr).map(str::to_owned),
            None => Some(element.text().collect::<Vec<_>>().join(" ")),
        };
        if let Some(v) = value {
            let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
            if !v.is_empty() {
                fields.insert(name.clone(), v);
            }
        }
    }
    fields
}

#[async_trait]
impl Provider for Declarative {
    fn id(&self) -> &'static str {
        self.compiled.id
    }

    fn patterns(&self) -> &[Pattern] {
        &self.compiled.patterns
    }

    fn reads_account(&self) -> bool {
        matches!(self.compiled.credentials, Credentials::Account { .. })
    }

    fn developer(&self) -> Option<&str> {
        self.compiled.dev.as_deref()
    }

    async fn unfurl(
        &self,
        request: &UnfurlRequest,
        ctx: &Context,
    ) -> Result<Preview, ProviderError> {
        let secret = self.token(ctx)?;
        let captures: BTreeMap<String, String> = request
            .captures
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut values: BTreeMap<String, Value> = captures
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        values.insert("url".into(), Value::from(request.url.as_str()));
        let mut bytes = 0u64;
        for r in &self.compiled.requests {
            let call = self.call(r, &captures, &values, secret.as_ref())?;
            let answer = self.upstream.call(&call).await?;
            if !answer.reused {
                bytes += answer.body.len() as u64;
            }
            if !(200..300).contains(&answer.status) {
                if r.optional && matches!(answer.status, 404 | 410) {
                    continue;
                }
                return Err(self.refused(&answer));
            }
            let json: serde_json::Value = serde_json::from_slice(&answer.body)
                .map_err(|e| self.invalid(&format!("request {} answer", r.name), e))?;
            values.insert(r.name.clone(), Value::from_serialize(&json));
        }
        if let Some(page) = &self.compiled.page {
            let answer = self
                .upstream
                .page(&request.url, page.max_bytes, ctx)
                .await?;
            bytes += answer.body.len() as u64;
            if answer.status != 200 {
                return Err(self.refused(&answer));
            }
            let html = String::from_utf8_lossy(&answer.body);
            values.insert(
                "page".into(),
                Value::from_serialize(page_fields(&html, page)),
            );
        }
        let attributes = self.attributes(&Value::from(values))?;
        Ok(Preview::new(attributes)
            .scope(self.compiled.scope)
            .ttl(self.compiled.ttl)
            .bytes_read(bytes))
    }

    fn canonical_uri(&self, url: &Url) -> String {
        url.to_string()
    }
}
