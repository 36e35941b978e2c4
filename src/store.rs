//! What the pluggable stores share: the boxed future their methods return and the error they
//! fail with. [`ClientStore`](crate::clients::ClientStore) and
//! [`ReplayGuard`](crate::issue::ReplayGuard) use both, and so will every shared backend
//! (SQL, Redis) behind its cargo feature (DESIGN.md decision 7).
//!
//! ```
//! use tower_client_credentials::store::{StoreError, StoreFuture};
//!
//! fn lookup<'a>(id: &'a str) -> StoreFuture<'a, Result<Option<String>, StoreError>> {
//!     Box::pin(async move {
//!         if id.is_empty() {
//!             return Err(StoreError::Unavailable("backend down".into()));
//!         }
//!         Ok(None)
//!     })
//! }
//! # let _ = lookup("x");
//! ```

use std::future::Future;
use std::pin::Pin;

/// The boxed future a store method returns (boxed so the store traits stay object-safe and
/// usable as `Arc<dyn …>`).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a store could not answer. The token endpoint answers these with
/// `temporarily_unavailable` (HTTP 503), never `invalid_client`. Messages must not carry
/// secrets or connection strings with passwords.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or failed (database down, timeout, full, …).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The backend holds a record that cannot be used (for a client store: one that does not
    /// make a valid client).
    #[error("the store holds an invalid record: {0}")]
    InvalidRecord(String),
}
