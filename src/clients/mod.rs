//! The client registry behind the token endpoint: who may ask for tokens, how they prove it,
//! and what they may ask for.

mod secret;

pub use secret::{ClientSecret, GeneratedSecret, SecretError};
