//! [`CredentialInvalidation`]: "forget this client's cached credentials" sent to every
//! instance over Redis pub/sub.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use futures_core::Stream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::RedisConnection;
use super::connection::warn_rarely;
use crate::issue::TokenIssuer;
use crate::store::StoreError;

/// The message that forgets every client.
const ALL: &str = "all";
/// The prefix of a message that forgets one client.
const ONE: &str = "client:";
/// The longest wait between two attempts to subscribe again.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Tells every instance to drop a client's verified credentials from its
/// [credential cache](crate::issue::CredentialCache) when the client changed on one of them
/// (a secret rotated or expired, the client disabled or removed), over a Redis pub/sub channel
/// (default `<prefix>credentials`).
///
/// Each instance runs a [`CredentialListener`] ([`CredentialInvalidation::listen`]) that calls
/// [`TokenIssuer::forget_credentials`] for every message; the instance that changed the client
/// calls [`CredentialInvalidation::publish_forget`].
///
/// **The delay.** A message reaches the instances subscribed at that moment within
/// milliseconds. Pub/sub is best-effort: an instance that is not subscribed then (Redis down,
/// its connection being remade) never gets it. That instance still refuses a changed client at
/// its next grant: the credential cache compares each remembered secret with the record its
/// client store returns for that grant (the stored hash and whether the client is enabled), so
/// a rotated secret or a disabled client never hits. What a missed message leaves is only the
/// keyed hash in memory until that grant or the cache's TTL. A listener that subscribes again
/// after losing its subscription forgets every cached credential, since it may have missed
/// messages. The delay of the change itself is the client store's: with a store shared by the
/// instances, at once; with per-instance stores, when each is updated.
///
/// ```no_run
/// use tower_client_credentials::issue::TokenIssuer;
/// use tower_client_credentials::redis::{CredentialInvalidation, RedisConnection};
///
/// # async fn run(issuer: TokenIssuer) -> Result<(), Box<dyn std::error::Error>> {
/// let invalidation = CredentialInvalidation::new(RedisConnection::open("redis://127.0.0.1:6379")?);
/// let listener = invalidation.listen(issuer); // keep it: dropping it stops listening
/// // … after rotating the secret of "billing" in the shared client store:
/// invalidation.publish_forget("billing").await?;
/// # drop(listener); Ok(()) }
/// ```
#[derive(Clone)]
pub struct CredentialInvalidation {
    redis: RedisConnection,
    channel: String,
}

impl CredentialInvalidation {
    /// Messages on `<prefix>credentials` of `redis`.
    pub fn new(redis: RedisConnection) -> Self {
        let channel = redis.key("credentials");
        CredentialInvalidation { redis, channel }
    }

    /// Another channel name (used as given, without the prefix).
    #[must_use]
    pub fn with_channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// The channel name.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Tells every listening instance to forget `client_id`'s cached credentials. Returns how
    /// many listeners got the message (Redis's count of subscribers, across instances).
    pub async fn publish_forget(&self, client_id: &str) -> Result<u64, StoreError> {
        self.publish(&format!("{ONE}{client_id}")).await
    }

    /// Tells every listening instance to forget every cached credential (after a bulk change
    /// of the clients, or a suspected leak).
    pub async fn publish_forget_all(&self) -> Result<u64, StoreError> {
        self.publish(ALL).await
    }

    async fn publish(&self, message: &str) -> Result<u64, StoreError> {
        self.redis
            .query(::redis::cmd("PUBLISH").arg(&self.channel).arg(message))
            .await
    }

    /// Starts listening on a task of its own: each message makes `issuer` forget the client it
    /// names. The subscription is remade after a failure (backing off up to 5 s), with a
    /// warning at most once a minute while it cannot be.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn listen(&self, issuer: TokenIssuer) -> CredentialListener {
        let (state, subscribed) = watch::channel(false);
        let task = tokio::spawn(run(self.redis.clone(), self.channel.clone(), issuer, state));
        CredentialListener { task, subscribed }
    }
}

impl fmt::Debug for CredentialInvalidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialInvalidation")
            .field("redis", &self.redis)
            .field("channel", &self.channel)
            .finish()
    }
}

/// The task of [`CredentialInvalidation::listen`]; dropping it stops listening.
#[derive(Debug)]
pub struct CredentialListener {
    task: JoinHandle<()>,
    subscribed: watch::Receiver<bool>,
}

impl CredentialListener {
    /// Whether it is subscribed now.
    pub fn is_subscribed(&self) -> bool {
        *self.subscribed.borrow()
    }

    /// Waits until it is subscribed (at once when it is).
    pub async fn subscribed(&self) {
        let mut state = self.subscribed.clone();
        // The sender lives as long as the task, which only ends when this handle drops.
        let _ = state.wait_for(|on| *on).await;
    }
}

impl Drop for CredentialListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    redis: RedisConnection,
    channel: String,
    issuer: TokenIssuer,
    state: watch::Sender<bool>,
) {
    let last_warning = AtomicU64::new(0);
    let mut backoff = Duration::from_millis(100);
    // Whether messages may have been missed: set by any failure, even the first attempt's.
    let mut missed = false;
    loop {
        match subscribe(&redis, &channel).await {
            Ok(mut messages) => {
                if missed {
                    issuer.forget_all_credentials();
                    tracing::info!(
                        "credential invalidation: subscribed again; forgot every cached credential in case messages were missed"
                    );
                }
                state.send_replace(true);
                backoff = Duration::from_millis(100);
                while let Some(message) =
                    std::future::poll_fn(|cx| messages.as_mut().poll_next(cx)).await
                {
                    apply(&issuer, message.get_payload_bytes());
                }
                state.send_replace(false);
                missed = true;
                warn_rarely(&last_warning, 60, || {
                    tracing::warn!("credential invalidation: subscription lost; resubscribing");
                });
            }
            Err(error) => {
                missed = true;
                warn_rarely(&last_warning, 60, || {
                    tracing::warn!(%error, "credential invalidation: cannot subscribe; retrying");
                });
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

type Messages = Pin<Box<dyn Stream<Item = ::redis::Msg> + Send>>;

async fn subscribe(redis: &RedisConnection, channel: &str) -> Result<Messages, StoreError> {
    let connect = async {
        let mut pubsub = redis.client().get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok(pubsub)
    };
    let pubsub = redis.within(connect).await?;
    Ok(Box::pin(pubsub.into_on_message()))
}

/// Acts on one message; anything else on the channel is ignored.
fn apply(issuer: &TokenIssuer, payload: &[u8]) {
    match std::str::from_utf8(payload) {
        Ok(ALL) => issuer.forget_all_credentials(),
        Ok(message) => match message.strip_prefix(ONE) {
            Some(client_id) => issuer.forget_credentials(client_id),
            None => tracing::debug!("credential invalidation: unknown message ignored"),
        },
        Err(_) => tracing::debug!("credential invalidation: unknown message ignored"),
    }
}
