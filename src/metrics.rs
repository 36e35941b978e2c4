//! Metric names and labels, and the tracing spans and events, kept stable under semver.
//!
//! With the `metrics` feature the crate records counters through the [`metrics`] facade
//! (0.24): install any recorder (`metrics-exporter-prometheus`, StatsD, OpenTelemetry…) and
//! they appear. Without the feature nothing is recorded and nothing is compiled in; the names
//! below are public either way, so dashboards and alerts can refer to them.
//!
//! [`metrics`]: https://docs.rs/metrics/0.24
//!
//! ```no_run
//! # #[cfg(feature = "metrics")]
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // With `metrics-exporter-prometheus` (default-features = false): render the handle at
//! // your `/metrics` route.
//! let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
//! println!("{}", handle.render());
//! # Ok(()) }
//! ```
//!
//! # Metrics
//!
//! Every metric is a counter. Label values come from the fixed lists below, never from a
//! request: no client id, token, `kid`, issuer URL, address or scope ever becomes a label, so
//! the number of series stays bounded whatever callers send.
//!
//! | name | labels | counts |
//! |---|---|---|
//! | [`BEARER_REQUESTS`] `tcc_bearer_requests_total` | [`OUTCOME`]: [`BEARER_OUTCOMES`] | authentication decisions of `BearerAuthLayer` (`ok`, `anonymous` or the reason for refusing), of `RequireScopeLayer` (refusals only: `insufficient_scope`, or `missing` when no bearer layer verified a token) and of the `Claims` extractor (refusals only: `missing`) |
//! | [`VERIFY_CACHE_LOOKUPS`] `tcc_verify_cache_lookups_total` | [`OUTCOME`]: `hit`, `miss` | lookups in a `Validator`'s verified-token cache: a hit answers without signature crypto; a miss (the token is new, evicted or expired there) is verified in full. No lookups without a cache |
//! | [`TOKEN_REQUESTS`] `tcc_token_requests_total` | [`AUTH_METHOD`]: [`AUTH_METHODS`]; [`OUTCOME`]: [`TOKEN_OUTCOMES`] | token requests `TokenIssuer` answered: `ok` (a token was issued) or the error; `auth_method` is `unknown` when the request was refused before its client authentication was read |
//! | [`THROTTLE_LOCKOUTS`] `tcc_throttle_lockouts_total` | [`SUBJECT`]: `client_id`, `peer` | lock-outs of the authentication throttle (memory or Redis): one per client id or peer address that reaches its failure limit. Each request refused while locked out is a `tcc_token_requests_total{outcome="too_many_requests"}` |
//! | [`JWKS_FETCHES`] `tcc_jwks_fetches_total` | [`TRIGGER`]: `refresh`, `kid_miss`; [`OUTCOME`]: [`JWKS_OUTCOMES`] | fetches of a remote JWKS (with discovery when configured), feature `remote-jwks`: `refresh` is the background task (the first load, refreshes before the keys go stale, retries after a failure), `kid_miss` a token with an unknown `kid` |
//! | [`OUTBOUND_TOKEN_FETCHES`] `tcc_outbound_token_fetches_total` | [`OUTCOME`]: [`OUTBOUND_OUTCOMES`] | token fetches of `CachedTokenSource` (feature `client`), each counted once after its retries: `ok` or the error that ended it. Tokens served from the cache or a shared tier are not fetches |
//! | [`OUTBOUND_TOKEN_RETRIES`] `tcc_outbound_token_retries_total` | [`REASON`]: [`OUTBOUND_OUTCOMES`] except `ok` | token requests of a fetch that failed transiently and were retried, by what went wrong |
//!
//! ## Bearer outcomes
//!
//! | `outcome` | meaning (`AuthError` / `TokenError`) |
//! |---|---|
//! | `ok` | authenticated |
//! | `anonymous` | no credentials, let through by `BearerAuthLayer::optional` |
//! | `missing` | `MissingToken` |
//! | `invalid_request` | `InvalidRequest` (a malformed `Authorization` header) |
//! | `insufficient_scope` | `InsufficientScope` |
//! | `too_large` | `TooLarge` |
//! | `malformed` | `Malformed` |
//! | `unsupported_algorithm` | `UnsupportedAlgorithm` |
//! | `algorithm_mismatch` | `AlgorithmMismatch` |
//! | `unknown_key` | `UnknownKey` |
//! | `bad_signature` | `InvalidSignature` |
//! | `expired` | `Expired` |
//! | `not_yet_valid` | `NotYetValid` |
//! | `issued_in_future` | `IssuedInFuture` |
//! | `lifetime_too_long` | `LifetimeTooLong` |
//! | `wrong_issuer` | `InvalidIssuer` |
//! | `wrong_audience` | `InvalidAudience` |
//! | `wrong_type` | `InvalidType` |
//! | `unsupported_critical` | `UnsupportedCritical` |
//! | `missing_claim` | `MissingClaim` |
//! | `client_not_allowed` | `ClientNotAllowed` |
//! | `keys_unavailable` | `KeysUnavailable` |
//!
//! A request refused by a scope layer counts twice: `ok` from the bearer layer that
//! authenticated it, `insufficient_scope` from the scope layer. Refusals are
//! `tcc_bearer_requests_total{outcome!~"ok|anonymous"}`.
//!
//! ## Token request outcomes
//!
//! `ok`, or the error's code: the RFC 6749 §5.2 codes `invalid_request`, `invalid_client`,
//! `invalid_grant`, `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`,
//! `invalid_target`, `temporarily_unavailable`, `server_error`, and the HTTP-level ones
//! `request_too_large` (413), `method_not_allowed` (405), `too_many_requests` (429, the
//! throttle). A code this crate does not know is `other`.
//!
//! ## JWKS fetch outcomes
//!
//! `ok`, `connect_error`, `timeout`, `transport_error`, `http_error` (an error status),
//! `redirect`, `too_large`, `invalid_metadata`, `issuer_mismatch`, `insecure_jwks_uri`,
//! `invalid_jwks`, `no_usable_key`, `no_runtime`: one per `RemoteKeysError` variant.
//!
//! ## Outbound fetch outcomes
//!
//! `ok`; the token endpoint's RFC 6749 error code as above (`invalid_client`, `invalid_scope`,
//! …, `other` for a code this crate does not know); `http_error` (an error status without an
//! RFC 6749 body), `rate_limited`, `connect_error`, `timeout`, `transport_error`,
//! `invalid_response`, `discovery_failed`, `secret_unavailable`, `signing_failed`,
//! `cancelled`: one per `TokenSourceError` variant.
//!
//! ## Cost
//!
//! On the protect path (`BearerAuthLayer`, the verified-token cache) the keys are `static`
//! (name and label hashed at compile time): a recorded outcome is one lookup in the recorder,
//! no allocation. The issuing, JWKS and outbound counters build their key per event (one small
//! allocation), next to work that costs microseconds to milliseconds. The handles are looked
//! up through the recorder on every event, so a recorder installed late still sees them.
//!
//! Measured with callgrind on a cached EdDSA token through `BearerAuthLayer` (two counters per
//! request: `ok` and a cache `hit`): 2 840 instructions per request without the feature, 2 707
//! with it and no recorder (the same, within code-layout noise), 4 202 with the Prometheus
//! recorder (about 700 per counter: its registry lookup), 4 536 with `DebuggingRecorder`.
//! `cargo bench --features metrics --bench protect -- EdDSA` measures the same in time.
//!
//! # Tracing
//!
//! Spans and events go through [`tracing`](https://docs.rs/tracing) (always on; filter by the
//! target `tower_client_credentials`). Their names and field names are stable; messages may
//! be reworded. No span or event carries a token, a secret, an assertion or key material.
//! Client ids appear only in the fields named `client_id` below, as logs of an authorization
//! server usually carry them: this service's own id on the outbound side; on the issuing side
//! the authenticated client's, and at DEBUG the presented one of a failed authentication (the
//! memory throttle logs its first 64 bytes). The `token_request` span does not carry one: it
//! opens before the client is authenticated.
//!
//! ## Spans
//!
//! | span | level | fields | around |
//! |---|---|---|---|
//! | `token_request` | INFO | `auth_method` (as in [`AUTH_METHODS`]), `outcome` (as in [`TOKEN_OUTCOMES`], recorded at the end) | one `TokenIssuer::issue` / `issue_from` |
//! | `jwks_fetch` | INFO | `trigger` (`refresh`, `kid_miss`), `outcome` (as in [`JWKS_OUTCOMES`]) | one remote JWKS fetch (discovery included) |
//! | `outbound_token_fetch` | INFO | `client_id` (this service's own client id), `outcome` (as in [`OUTBOUND_OUTCOMES`]) | one `CachedTokenSource` fetch, its retries included |
//!
//! The protect path has no span: a cached token is answered in a few hundred nanoseconds, and
//! a span per request would cost more than the check.
//!
//! ## Events
//!
//! | level | message | fields | where |
//! |---|---|---|---|
//! | DEBUG | `bearer authentication failed` | `error` | `BearerAuthLayer` refused a request |
//! | DEBUG | `scope check failed` | `error` | `RequireScopeLayer` refused a request |
//! | DEBUG | `skipped scope entries that are not RFC 6749 scope tokens` | `skipped` | a foreign token's scope claim |
//! | INFO | `access token issued` | `client_id`, `scope`, `aud` | the issuer signed a token |
//! | ERROR | `signing an access token failed` | `kid` | the issuer could not sign |
//! | DEBUG | `client authentication failed` | `client_id`, `method` | a wrong secret, an unknown client, a disallowed method |
//! | DEBUG | `client assertion rejected` | `reason` | a private_key_jwt assertion failed a check |
//! | WARN | `client assertion replayed` | `client_id` | an assertion `jti` seen before |
//! | DEBUG | `token request without client authentication` | | |
//! | DEBUG | `client authentication throttled` | | a request refused while locked out |
//! | WARN | `client authentication throttled: too many failures for this client id` | `client_id` (memory: an excerpt) | a lock-out starts |
//! | WARN | `client authentication throttled: too many failures from this address` | `peer` | a lock-out starts |
//! | WARN | `authentication throttle unavailable; attempt allowed` / `… failed to record an attempt` | `error` | the throttle's store failed |
//! | INFO / WARN | `authentication throttle: Redis answers again; counting there` / `… Redis unavailable; …` | `error` | `RedisThrottle` fell back to memory, or came back |
//! | DEBUG | `no hashing permit came free in time` | | an Argon2id check shed (503) |
//! | WARN | `client store lookup failed` / `replay guard failed` | `error` | a store failed (503) |
//! | WARN | `client database unavailable; serving a cached record` | `reason` | `SqlClientStore` |
//! | INFO / WARN / DEBUG | `credential invalidation: …` | `error` | `CredentialInvalidation` (Redis) |
//! | INFO | `signing key rotated` | `kid`, `alg` | `KeyRing::rotate` |
//! | DEBUG | `skipping a JWKS key` / `skipping a JWKS key without kid: …` | `kid`, `error` | a JWKS entry this crate cannot use |
//! | DEBUG | `JWKS loaded` | `keys`, `lifetime_secs` | a remote JWKS fetch succeeded |
//! | WARN | `JWKS fetch failed; …` | `error`, `age_secs` | a remote JWKS fetch failed (the message says whether the last keys still serve) |
//! | DEBUG | `no RFC 8414 metadata; trying OpenID Connect discovery` | `status` | discovery fallback |
//! | DEBUG | `key fetch failed` / `token request failed` | `error` (the HTTP client's error) | a transport failure |
//! | DEBUG | `token request failed; retrying` | `client_id`, `error`, `wait_ms` | an outbound retry |
//! | WARN | `could not refresh the access token; the held one is still served` | `client_id`, `error` | a background refresh failed |
//! | DEBUG | `could not get an access token` | `client_id`, `error` | a fetch that callers wait on failed |
//! | WARN | `shared token cache unavailable; fetching tokens directly` | `error` | the outbound shared tier failed |
//! | DEBUG | `the server refused the access token; renewing it` | `retry` | an outbound 401 |
//! | DEBUG | `renewal handed back the refused access token` / `could not renew the refused access token` | `error` | the renewal after a 401 |
//! | DEBUG | `no metadata at {url}` | `status` | outbound discovery |

// Which recording helpers a build uses depends on its features (the issuing ones need
// `issue`, the JWKS one `remote-jwks`...): unused ones are expected.
#![allow(dead_code)]

use crate::error::{AuthError, TokenError};
use crate::token_endpoint::OAuthErrorCode;

/// Counter: authentication decisions on the protect side, by [`OUTCOME`] ([`BEARER_OUTCOMES`]).
pub const BEARER_REQUESTS: &str = "tcc_bearer_requests_total";
/// Counter: verified-token cache lookups, by [`OUTCOME`] (`hit`, `miss`).
pub const VERIFY_CACHE_LOOKUPS: &str = "tcc_verify_cache_lookups_total";
/// Counter: token requests answered by the issuer, by [`AUTH_METHOD`] ([`AUTH_METHODS`]) and
/// [`OUTCOME`] ([`TOKEN_OUTCOMES`]).
pub const TOKEN_REQUESTS: &str = "tcc_token_requests_total";
/// Counter: authentication-throttle lock-outs, by [`SUBJECT`] (`client_id`, `peer`).
pub const THROTTLE_LOCKOUTS: &str = "tcc_throttle_lockouts_total";
/// Counter: remote JWKS fetches, by [`TRIGGER`] (`refresh`, `kid_miss`) and [`OUTCOME`]
/// ([`JWKS_OUTCOMES`]).
pub const JWKS_FETCHES: &str = "tcc_jwks_fetches_total";
/// Counter: outbound token fetches (after retries), by [`OUTCOME`] ([`OUTBOUND_OUTCOMES`]).
pub const OUTBOUND_TOKEN_FETCHES: &str = "tcc_outbound_token_fetches_total";
/// Counter: outbound token requests retried after a transient failure, by [`REASON`]
/// ([`OUTBOUND_OUTCOMES`] except `ok`).
pub const OUTBOUND_TOKEN_RETRIES: &str = "tcc_outbound_token_retries_total";

/// Label: how an event ended (`ok`, or why not).
pub const OUTCOME: &str = "outcome";
/// Label: the client authentication method of a token request ([`AUTH_METHODS`]).
pub const AUTH_METHOD: &str = "auth_method";
/// Label: what a throttle lock-out is keyed by (`client_id`, `peer`).
pub const SUBJECT: &str = "subject";
/// Label: what started a JWKS fetch (`refresh`, `kid_miss`).
pub const TRIGGER: &str = "trigger";
/// Label: why an outbound token request was retried.
pub const REASON: &str = "reason";

/// Defines a crate-private enum of label values with its public list of values and, with the
/// feature, one `static` metric key per value (name and label hashed at compile time).
macro_rules! label_values {
    (
        $(#[$meta:meta])*
        enum $Enum:ident (values $VALUES:ident, key $metric:expr, $label:expr) {
            $($Variant:ident => $value:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum $Enum {
            $($Variant,)+
        }

        impl $Enum {
            /// The label value.
            #[cfg(test)]
            pub(crate) const fn as_str(self) -> &'static str {
                match self {
                    $($Enum::$Variant => $value,)+
                }
            }

            /// The metric key with this label value.
            #[cfg(feature = "metrics")]
            #[inline]
            fn key(self) -> &'static ::metrics::Key {
                use ::metrics::{Key, Label};
                match self {
                    $($Enum::$Variant => {
                        static LABELS: [Label; 1] = [Label::from_static_parts($label, $value)];
                        static KEY: Key = Key::from_static_parts($metric, &LABELS);
                        &KEY
                    })+
                }
            }
        }

        #[doc = concat!("Every value of the `", stringify!($Enum), "` label, in the documented order.")]
        pub const $VALUES: &[&str] = &[$($value),+];
    };
}

label_values! {
    /// The [`OUTCOME`] of a [`BEARER_REQUESTS`] event.
    enum BearerOutcome (values BEARER_OUTCOMES, key BEARER_REQUESTS, OUTCOME) {
        Ok => "ok",
        Anonymous => "anonymous",
        Missing => "missing",
        InvalidRequest => "invalid_request",
        InsufficientScope => "insufficient_scope",
        TooLarge => "too_large",
        Malformed => "malformed",
        UnsupportedAlgorithm => "unsupported_algorithm",
        AlgorithmMismatch => "algorithm_mismatch",
        UnknownKey => "unknown_key",
        BadSignature => "bad_signature",
        Expired => "expired",
        NotYetValid => "not_yet_valid",
        IssuedInFuture => "issued_in_future",
        LifetimeTooLong => "lifetime_too_long",
        WrongIssuer => "wrong_issuer",
        WrongAudience => "wrong_audience",
        WrongType => "wrong_type",
        UnsupportedCritical => "unsupported_critical",
        MissingClaim => "missing_claim",
        ClientNotAllowed => "client_not_allowed",
        KeysUnavailable => "keys_unavailable",
    }
}

label_values! {
    /// The [`OUTCOME`] of a [`VERIFY_CACHE_LOOKUPS`] event.
    enum CacheOutcome (values CACHE_OUTCOMES, key VERIFY_CACHE_LOOKUPS, OUTCOME) {
        Hit => "hit",
        Miss => "miss",
    }
}

/// Every value of the [`AUTH_METHOD`] label: the RFC 7591 names, `none` for a request without
/// client authentication, `unknown` when the request was refused before it was read.
pub const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
    "unknown",
];

/// Every value of the [`OUTCOME`] label of [`TOKEN_REQUESTS`].
pub const TOKEN_OUTCOMES: &[&str] = &[
    "ok",
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "request_too_large",
    "method_not_allowed",
    "temporarily_unavailable",
    "too_many_requests",
    "server_error",
    "other",
];

/// Every value of the [`OUTCOME`] label of [`JWKS_FETCHES`].
pub const JWKS_OUTCOMES: &[&str] = &[
    "ok",
    "connect_error",
    "timeout",
    "transport_error",
    "http_error",
    "redirect",
    "too_large",
    "invalid_metadata",
    "issuer_mismatch",
    "insecure_jwks_uri",
    "invalid_jwks",
    "no_usable_key",
    "no_runtime",
];

/// Every value of the [`OUTCOME`] label of [`OUTBOUND_TOKEN_FETCHES`] (and, but `ok`, of the
/// [`REASON`] label of [`OUTBOUND_TOKEN_RETRIES`]).
pub const OUTBOUND_OUTCOMES: &[&str] = &[
    "ok",
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "temporarily_unavailable",
    "server_error",
    "other",
    "http_error",
    "rate_limited",
    "connect_error",
    "timeout",
    "transport_error",
    "invalid_response",
    "discovery_failed",
    "secret_unavailable",
    "signing_failed",
    "cancelled",
];

/// The one bearer outcome of each error: a new variant without one does not compile.
pub(crate) fn auth_error_outcome(error: &AuthError) -> BearerOutcome {
    match error {
        AuthError::MissingToken => BearerOutcome::Missing,
        AuthError::InvalidRequest(_) => BearerOutcome::InvalidRequest,
        AuthError::InvalidToken(why) => token_error_outcome(*why),
        AuthError::InsufficientScope { .. } => BearerOutcome::InsufficientScope,
    }
}

pub(crate) fn token_error_outcome(error: TokenError) -> BearerOutcome {
    match error {
        TokenError::TooLarge => BearerOutcome::TooLarge,
        TokenError::Malformed => BearerOutcome::Malformed,
        TokenError::UnsupportedAlgorithm => BearerOutcome::UnsupportedAlgorithm,
        TokenError::AlgorithmMismatch => BearerOutcome::AlgorithmMismatch,
        TokenError::UnknownKey => BearerOutcome::UnknownKey,
        TokenError::InvalidSignature => BearerOutcome::BadSignature,
        TokenError::Expired => BearerOutcome::Expired,
        TokenError::NotYetValid => BearerOutcome::NotYetValid,
        TokenError::IssuedInFuture => BearerOutcome::IssuedInFuture,
        TokenError::LifetimeTooLong => BearerOutcome::LifetimeTooLong,
        TokenError::InvalidIssuer => BearerOutcome::WrongIssuer,
        TokenError::InvalidAudience => BearerOutcome::WrongAudience,
        TokenError::InvalidType => BearerOutcome::WrongType,
        TokenError::UnsupportedCritical => BearerOutcome::UnsupportedCritical,
        TokenError::MissingClaim => BearerOutcome::MissingClaim,
        TokenError::ClientNotAllowed => BearerOutcome::ClientNotAllowed,
        TokenError::KeysUnavailable => BearerOutcome::KeysUnavailable,
    }
}

/// The label of an OAuth error code: bounded, whatever a provider sends.
pub(crate) fn oauth_code_label(code: &OAuthErrorCode) -> &'static str {
    match code {
        OAuthErrorCode::InvalidRequest => "invalid_request",
        OAuthErrorCode::InvalidClient => "invalid_client",
        OAuthErrorCode::InvalidGrant => "invalid_grant",
        OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
        OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
        OAuthErrorCode::InvalidScope => "invalid_scope",
        OAuthErrorCode::InvalidTarget => "invalid_target",
        OAuthErrorCode::RequestTooLarge => "request_too_large",
        OAuthErrorCode::MethodNotAllowed => "method_not_allowed",
        OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        OAuthErrorCode::TooManyRequests => "too_many_requests",
        OAuthErrorCode::ServerError => "server_error",
        OAuthErrorCode::Other(_) => "other",
    }
}

/// The [`AUTH_METHOD`] label of a token request's client authentication.
#[cfg(feature = "issue")]
pub(crate) fn auth_method_label(auth: &crate::issue::ClientAuth) -> &'static str {
    auth.method()
        .map_or("none", crate::clients::AuthMethod::as_str)
}

/// The [`OUTCOME`] label of a failed JWKS fetch.
#[cfg(feature = "remote-jwks")]
pub(crate) fn jwks_error_label(error: &crate::keys::remote::RemoteKeysError) -> &'static str {
    use crate::keys::remote::RemoteKeysError as E;
    match error {
        E::Connect => "connect_error",
        E::Timeout => "timeout",
        E::Transport => "transport_error",
        E::Status(_) => "http_error",
        E::Redirect => "redirect",
        E::TooLarge => "too_large",
        E::InvalidMetadata => "invalid_metadata",
        E::IssuerMismatch => "issuer_mismatch",
        E::InsecureJwksUri => "insecure_jwks_uri",
        E::InvalidJwks => "invalid_jwks",
        E::NoUsableKey => "no_usable_key",
        E::NoRuntime => "no_runtime",
    }
}

/// The [`OUTCOME`] (or [`REASON`]) label of a failed outbound token request.
#[cfg(feature = "client")]
pub(crate) fn outbound_error_label(error: &crate::outbound::TokenSourceError) -> &'static str {
    use crate::outbound::TokenSourceError as E;
    match error {
        E::Refused { error, .. } => match error.code() {
            // The issuer side's HTTP-level codes are not what a provider sends: by wire name.
            OAuthErrorCode::RequestTooLarge | OAuthErrorCode::MethodNotAllowed => "invalid_request",
            OAuthErrorCode::TooManyRequests => "temporarily_unavailable",
            code => oauth_code_label(code),
        },
        E::Status(_) => "http_error",
        E::RateLimited { .. } => "rate_limited",
        E::Connect => "connect_error",
        E::Timeout => "timeout",
        E::Transport => "transport_error",
        E::InvalidResponse(_) => "invalid_response",
        E::Discovery(_) => "discovery_failed",
        E::Secret(_) => "secret_unavailable",
        E::Signing => "signing_failed",
        E::Cancelled => "cancelled",
    }
}

/// The metric `target` of every event (the exporter may filter on it).
#[cfg(feature = "metrics")]
static METADATA: ::metrics::Metadata<'static> = ::metrics::Metadata::new(
    "tower_client_credentials",
    ::metrics::Level::INFO,
    Some(module_path!()),
);

#[cfg(feature = "metrics")]
#[inline]
fn increment(key: &'static ::metrics::Key) {
    ::metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA).increment(1));
}

#[cfg(feature = "metrics")]
fn increment_labelled(name: &'static str, labels: &[(&'static str, &'static str)]) {
    let labels: Vec<::metrics::Label> = labels
        .iter()
        .map(|&(key, value)| ::metrics::Label::from_static_parts(key, value))
        .collect();
    let key = ::metrics::Key::from_parts(name, labels);
    ::metrics::with_recorder(|recorder| recorder.register_counter(&key, &METADATA).increment(1));
}

/// Records one authentication decision.
#[inline]
pub(crate) fn bearer(outcome: BearerOutcome) {
    #[cfg(feature = "metrics")]
    increment(outcome.key());
    #[cfg(not(feature = "metrics"))]
    let _ = outcome;
}

/// Records one refused authentication.
#[inline]
pub(crate) fn bearer_error(error: &AuthError) {
    #[cfg(feature = "metrics")]
    bearer(auth_error_outcome(error));
    #[cfg(not(feature = "metrics"))]
    let _ = error;
}

/// Records one verified-token cache lookup.
#[inline]
pub(crate) fn cache(outcome: CacheOutcome) {
    #[cfg(feature = "metrics")]
    increment(outcome.key());
    #[cfg(not(feature = "metrics"))]
    let _ = outcome;
}

/// Records one answered token request.
#[inline]
pub(crate) fn token_request(auth_method: &'static str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    increment_labelled(
        TOKEN_REQUESTS,
        &[(AUTH_METHOD, auth_method), (OUTCOME, outcome)],
    );
    #[cfg(not(feature = "metrics"))]
    let _ = (auth_method, outcome);
}

/// Records one throttle lock-out (`subject`: `client_id` or `peer`).
#[inline]
pub(crate) fn throttle_lockout(subject: &'static str) {
    #[cfg(feature = "metrics")]
    increment_labelled(THROTTLE_LOCKOUTS, &[(SUBJECT, subject)]);
    #[cfg(not(feature = "metrics"))]
    let _ = subject;
}

/// Records one remote JWKS fetch.
#[inline]
pub(crate) fn jwks_fetch(trigger: &'static str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    increment_labelled(JWKS_FETCHES, &[(TRIGGER, trigger), (OUTCOME, outcome)]);
    #[cfg(not(feature = "metrics"))]
    let _ = (trigger, outcome);
}

/// Records one outbound token fetch, after its retries.
#[inline]
pub(crate) fn outbound_fetch(outcome: &'static str) {
    #[cfg(feature = "metrics")]
    increment_labelled(OUTBOUND_TOKEN_FETCHES, &[(OUTCOME, outcome)]);
    #[cfg(not(feature = "metrics"))]
    let _ = outcome;
}

/// Records one retried outbound token request.
#[inline]
pub(crate) fn outbound_retry(reason: &'static str) {
    #[cfg(feature = "metrics")]
    increment_labelled(OUTBOUND_TOKEN_RETRIES, &[(REASON, reason)]);
    #[cfg(not(feature = "metrics"))]
    let _ = reason;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_auth::InvalidRequest;

    #[test]
    fn every_auth_error_has_its_documented_outcome() {
        let required = std::sync::Arc::<str>::from("a");
        let cases = [
            (AuthError::MissingToken, "missing"),
            (
                AuthError::InvalidRequest(InvalidRequest::MalformedCredentials),
                "invalid_request",
            ),
            (
                AuthError::InsufficientScope { required },
                "insufficient_scope",
            ),
        ];
        for (error, want) in cases {
            assert_eq!(auth_error_outcome(&error).as_str(), want, "{error:?}");
        }
    }

    #[test]
    fn every_token_error_has_its_documented_outcome() {
        use TokenError::*;
        let cases = [
            (TooLarge, "too_large"),
            (Malformed, "malformed"),
            (UnsupportedAlgorithm, "unsupported_algorithm"),
            (AlgorithmMismatch, "algorithm_mismatch"),
            (UnknownKey, "unknown_key"),
            (InvalidSignature, "bad_signature"),
            (Expired, "expired"),
            (NotYetValid, "not_yet_valid"),
            (IssuedInFuture, "issued_in_future"),
            (LifetimeTooLong, "lifetime_too_long"),
            (InvalidIssuer, "wrong_issuer"),
            (InvalidAudience, "wrong_audience"),
            (InvalidType, "wrong_type"),
            (UnsupportedCritical, "unsupported_critical"),
            (MissingClaim, "missing_claim"),
            (ClientNotAllowed, "client_not_allowed"),
            (KeysUnavailable, "keys_unavailable"),
        ];
        for (error, want) in cases {
            let outcome = token_error_outcome(error).as_str();
            assert_eq!(outcome, want, "{error:?}");
            assert_eq!(
                auth_error_outcome(&AuthError::InvalidToken(error)).as_str(),
                want
            );
        }
        // Every documented value but the three that are not token errors, once each.
        let listed: Vec<&str> = cases.iter().map(|(_, v)| *v).collect();
        let rest: Vec<&str> = BEARER_OUTCOMES
            .iter()
            .copied()
            .filter(|v| !listed.contains(v))
            .collect();
        assert_eq!(
            rest,
            [
                "ok",
                "anonymous",
                "missing",
                "invalid_request",
                "insufficient_scope"
            ]
        );
    }

    #[test]
    fn every_oauth_code_has_a_documented_label() {
        use OAuthErrorCode::*;
        let codes = [
            InvalidRequest,
            InvalidClient,
            InvalidGrant,
            UnauthorizedClient,
            UnsupportedGrantType,
            InvalidScope,
            InvalidTarget,
            RequestTooLarge,
            MethodNotAllowed,
            TemporarilyUnavailable,
            TooManyRequests,
            ServerError,
            Other("slow_down".into()),
        ];
        let labels: Vec<&str> = codes.iter().map(oauth_code_label).collect();
        assert_eq!(labels, TOKEN_OUTCOMES[1..]);
        // A provider's own code never becomes a label of its own.
        assert_eq!(
            oauth_code_label(&OAuthErrorCode::from_wire("x-secret")),
            "other"
        );
    }

    #[cfg(feature = "metrics")]
    #[test]
    fn static_keys_carry_the_documented_name_and_label() {
        for outcome in [BearerOutcome::Ok, BearerOutcome::Expired] {
            let key = outcome.key();
            assert_eq!(key.name(), BEARER_REQUESTS);
            let labels: Vec<_> = key.labels().map(|l| (l.key(), l.value())).collect();
            assert_eq!(labels, [(OUTCOME, outcome.as_str())]);
        }
        let key = CacheOutcome::Miss.key();
        assert_eq!(key.name(), VERIFY_CACHE_LOOKUPS);
        assert_eq!(key.labels().next().map(|l| l.value()), Some("miss"));
    }
}
