//! A provider file's signed webhook: the signature checked in constant time, then the
//! payload's `links` template names the links it changed. Only links this file's own
//! patterns accept are kept: a sender can refresh its own previews and nothing else.

use hmac::{Hmac, Mac};
use minijinja::Value;
use notion_unfurl_sdk::{Provider, Url};
use sha2::Sha256;

use crate::model::Webhook;
use crate::provider::Declarative;

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this provider declares no webhook")]
    NotDeclared,
    #[error("the signature header is missing or does not match")]
    BadSignature,
    #[error("the delivery id header is missing or longer than 128 bytes")]
    NoDelivery,
    #[error("the payload could not be read: {0}")]
    Payload(String),
}

/// Whether `signature` (`sha256=<hex>` or bare hex) is the HMAC-SHA256 of `body`.
pub fn signature_matches(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let hex_part = signature.trim();
    let hex_part = hex_part.strip_prefix("sha256=").unwrap_or(hex_part);
    let Ok(expected) = hex::decode(hex_part) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// A verified delivery: its id and the links it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub links: Vec<Url>,
}

impl Declarative {
    pub fn webhook(&self) -> Option<&Webhook> {
        self.compiled().webhook.as_ref()
    }

    /// Checks a delivery and reads the links it names. `header` looks a request header
    /// up by its lower-case name.
    pub fn receive(
        &self,
        header: impl Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<Delivery, Refusal> {
        let webhook = self.webhook().ok_or(Refusal::NotDeclared)?;
        let signature = header(&webhook.signature_header).ok_or(Refusal::BadSignature)?;
        if !signature_matches(webhook.secret.expose().as_bytes(), body, &signature) {
            return Err(Refusal::BadSignature);
        }
        let id = header(&webhook.delivery_header)
            .filter(|id| !id.is_empty() && id.len() <= 128)
            .ok_or(Refusal::NoDelivery)?;
        let payload: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| Refusal::Payload(e.to_string()))?;
        let context = Value::from_iter([("payload", Value::from_serialize(&payload))]);
        let text = self
            .compiled()
            .templates
            .render(&webhook.links, &context)
            .map_err(Refusal::Payload)?;
        let mut links: Vec<Url> = text
            .split_whitespace()
            .filter_map(|line| Url::parse(line).ok())
            .filter(|url| {
                self.patterns()
                    .iter()
                    .any(|p| p.regex.is_match(url.as_str()))
            })
            .collect();
        links.sort();
        links.dedup();
        Ok(Delivery { id, links })
    }
}
