//! The playback upstream of `testing`: recorded answers only, every request counted, an
//! unrecorded one answered 501 and listed; and the snapshot and validity helpers on a
//! small provider that reads an API through a `TrustedClient`.
#![cfg(feature = "playback")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use notion_unfurl_sdk::regex::Regex;
use notion_unfurl_sdk::testing::playback::{Playback, Recording, UNRECORDED};
use notion_unfurl_sdk::testing::{assert_notion_valid, context, request, snapshot};
use notion_unfurl_sdk::{
    Attribute, Context, Pattern, Preview, Provider, ProviderError, TrustedClient, UnfurlRequest,
    async_trait,
};

struct Tickets {
    patterns: Vec<Pattern>,
    api: TrustedClient,
}

impl Tickets {
    fn new(api: &Playback) -> Self {
        let regex = Regex::new(r"^https://tickets\.example\.com/t/(?<id>[0-9]+)$").unwrap();
        Self {
            patterns: vec![Pattern {
                domain: Some("tickets.example.com".into()),
                regex,
                dashboard: None,
                samples: vec!["https://tickets.example.com/t/42".into()],
                placeholder: vec![Attribute::title("title", "Title", "Ticket $<id>").unwrap()],
            }],
            api: TrustedClient::new(api.base(), "test", Duration::from_secs(5)).unwrap(),
        }
    }
}

#[async_trait]
impl Provider for Tickets {
    fn id(&self) -> &'static str {
        "tickets"
    }

    fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    async fn unfurl(&self, req: &UnfurlRequest, _: &Context) -> Result<Preview, ProviderError> {
        let id = &req.captures["id"];
        let response = self
            .api
            .request(reqwest::Method::GET, &format!("/v1/tickets/{id}"))
            .map_err(|e| ProviderError::Invalid {
                reason: e.to_string(),
            })?
            .bearer_auth("ops-token")
            .send()
            .await
            .map_err(|e| ProviderError::Unreachable {
                reason: e.to_string(),
            })?;
        match response.status().as_u16() {
            200 => {}
            404 => return Err(ProviderError::NotFound { hint: None }),
            status => {
                return Err(ProviderError::Upstream {
                    status: Some(status),
                });
            }
        }
        let body: serde_json::Value =
            response.json().await.map_err(|e| ProviderError::Invalid {
                reason: e.to_string(),
            })?;
        let title = body["title"].as_str().unwrap_or_default();
        Ok(Preview::new(vec![Attribute::title("title", "Title", title)?]).public())
    }
}

#[tokio::test]
async fn recorded_answers_are_played_back_and_counted() {
    let upstream = Playback::start(vec![
        Recording::get("/v1/tickets/42").json(r#"{"title": "Printer jams"}"#),
        Recording::get("/v1/tickets/7").status(404),
    ])
    .await;
    let provider = Tickets::new(&upstream);
    let ctx = context().allow_loopback().build();

    let req = request(&provider, "https://tickets.example.com/t/42").unwrap();
    let preview = provider.unfurl(&req, &ctx).await.unwrap();
    assert_notion_valid(&provider, &preview);
    let shot = snapshot(&preview);
    assert_eq!(
        shot["attributes"][0]["inline"]["title"]["value"],
        "Printer jams"
    );
    assert_eq!(shot["scope"], "public");
    assert_eq!(shot["ttl_secs"], 300);

    let req = request(&provider, "https://tickets.example.com/t/7").unwrap();
    assert!(matches!(
        provider.unfurl(&req, &ctx).await,
        Err(ProviderError::NotFound { .. })
    ));
    assert_eq!(upstream.requests().await, 2);
    assert_eq!(upstream.authorizations().await, ["Bearer ops-token"; 2]);
    upstream.assert_all_recorded().await;
}

#[tokio::test]
async fn an_unrecorded_request_is_answered_501_and_listed() {
    let upstream = Playback::start(vec![Recording::get("/v1/tickets/42").json("{}")]).await;
    let provider = Tickets::new(&upstream);
    let req = request(&provider, "https://tickets.example.com/t/9").unwrap();
    let result = provider.unfurl(&req, &context().build()).await;
    assert_eq!(
        result.err(),
        Some(ProviderError::Upstream {
            status: Some(UNRECORDED)
        })
    );
    assert_eq!(upstream.unrecorded().await, ["GET /v1/tickets/9"]);
    let missed = std::panic::AssertUnwindSafe(upstream.assert_all_recorded());
    let panicked = futures_util::FutureExt::catch_unwind(missed).await;
    assert!(
        panicked.is_err(),
        "an unrecorded request must fail the test"
    );
}
