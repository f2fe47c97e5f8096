//! The label values every outcome family starts with: one enum per family, each variant
//! with its value, so a value cannot be misspelt at a counting site.

/// An enum whose values are the known values of one label.
pub trait Label: Copy + 'static {
    const ALL: &'static [Self];
    fn label(self) -> &'static str;
    /// Position in [`Label::ALL`].
    fn index(self) -> usize;
}

/// Declares a label enum: its variants, each with its label value.
macro_rules! label_values {
    ($(#[$meta:meta])* pub enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident => $value:literal,)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl Label for $name {
            const ALL: &'static [Self] = &[$(Self::$variant,)+];

            fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }

            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

label_values! {
    /// How one `/unfurl` request ended.
    pub enum UnfurlOutcome {
        /// Answered with attributes.
        Preview => "preview",
        /// Answered with an `error` operation.
        ErrorOperation => "error_operation",
        /// Refused with 401.
        Unauthorized => "unauthorized",
        /// Refused with 400 or 413.
        Invalid => "invalid",
    }
}

label_values! {
    /// How one attempt at a queued preview update ended.
    pub enum DeliveryOutcome {
        /// Notion accepted it.
        Delivered => "delivered",
        /// Tried again later (Notion or the upstream was unavailable).
        Retried => "retried",
        /// Nothing to deliver any more, or Notion refused it for good.
        Dropped => "dropped",
        /// Notion refused the connection's token: the connection was revoked.
        Revoked => "revoked",
        /// Failed for over a day: given up.
        GivenUp => "given_up",
    }
}

label_values! {
    /// What an unfurl answered, whoever asked (`/unfurl`, the outbox, the CLI), from the
    /// cache or not.
    pub enum PreviewOutcome {
        Preview => "preview",
        /// An earlier read, served because the upstream failed just now.
        Stale => "stale",
        /// Only an `error` operation.
        Error => "error",
    }
}

label_values! {
    /// How one provider call ended.
    pub enum UpstreamOutcome {
        Ok => "ok",
        /// The provider answered with an earlier read: the upstream failed.
        Stale => "stale",
        NotFound => "not_found",
        Forbidden => "forbidden",
        /// The upstream refused the account's credentials.
        Unauthorized => "unauthorized",
        RateLimited => "rate_limited",
        /// The upstream failed or could not be reached.
        UpstreamError => "upstream_error",
        Timeout => "timeout",
        /// The fetch policy refused the address.
        Blocked => "blocked",
        /// The upstream answered something unusable.
        Invalid => "invalid",
    }
}

label_values! {
    /// Whether the preview cache had the answer.
    pub enum CacheResult {
        /// Held, or being fetched by a concurrent request whose answer this one shared.
        Hit => "hit",
        /// The provider was called.
        Miss => "miss",
    }
}

label_values! {
    /// How one `refresh_token` grant at `/oauth/token` ended.
    pub enum RefreshOutcome {
        Issued => "issued",
        /// Not a refresh token we issued.
        Unknown => "unknown",
        Expired => "expired",
        /// Its family or connection was revoked earlier.
        Revoked => "revoked",
        /// Spent before: its family and connection were revoked just now.
        Reused => "reused",
        /// No `refresh_token` parameter.
        InvalidRequest => "invalid_request",
        /// The database or the token signer failed (503).
        Unavailable => "unavailable",
    }
}

label_values! {
    /// What one `POST /webhooks/github` came to.
    pub enum WebhookResult {
        /// Recorded; updates were queued for the subscriptions it affects (maybe none).
        Queued => "queued",
        /// A delivery id seen before: nothing queued again.
        Duplicate => "duplicate",
        /// An event, or a change, that no preview shows.
        Ignored => "ignored",
        /// GitHub's `ping`.
        Pong => "pong",
        /// Missing or wrong `X-Hub-Signature-256`.
        RefusedSignature => "refused_signature",
        /// `UNFURL_GITHUB_WEBHOOK_SECRET` is not set.
        NotConfigured => "not_configured",
        TooLarge => "too_large",
        /// The body did not arrive within the read deadline.
        TooSlow => "too_slow",
        /// Signed, but not a delivery we can read (headers, body, or sent too slowly).
        Invalid => "invalid",
        /// Too many bodies being read, or the database failed (503: GitHub may redeliver).
        Unavailable => "unavailable",
    }
}
