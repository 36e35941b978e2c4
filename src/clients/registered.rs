//! [`RegisteredSecret`]: one of a client's secrets, with the second it stops being accepted.

use std::fmt;

use super::secret::ClientSecret;

/// One of a client's secrets, as registered: the stored hash and, optionally, the Unix second
/// from which it is refused (`not_after`).
///
/// A client has zero or more; a secret presented at the token endpoint is accepted when it
/// matches any one still live by the issuer's clock. Two live secrets are how a secret is
/// rotated without downtime: add the new one, move the client over, then expire the old one.
///
/// ```
/// use tower_client_credentials::clients::{Client, ClientSecret, RegisteredSecret};
///
/// let (_old_plain, old) = ClientSecret::generate();
/// let (_new_plain, new) = ClientSecret::generate();
/// let client = Client::builder("reports-exporter")
///     .secret(old)                          // live until expired
///     .add_secret(new, Some(1_900_000_000)) // live until that second
///     .audiences(["reports-api"])
///     .build()?;
/// assert_eq!(client.secrets().len(), 2);
/// assert_eq!(client.live_secrets(1_900_000_000).count(), 1);
/// assert!(RegisteredSecret::new(ClientSecret::dummy(), Some(10)).is_live_at(9));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RegisteredSecret {
    secret: ClientSecret,
    not_after: Option<u64>,
}

impl RegisteredSecret {
    /// `secret`, refused from the Unix second `not_after` on (never, for `None`).
    pub fn new(secret: ClientSecret, not_after: Option<u64>) -> Self {
        RegisteredSecret { secret, not_after }
    }

    /// The stored hash.
    pub fn secret(&self) -> &ClientSecret {
        &self.secret
    }

    /// The first Unix second at which the secret is refused, if it expires.
    pub fn not_after(&self) -> Option<u64> {
        self.not_after
    }

    /// Whether the secret is still accepted at Unix second `now`: before its `not_after`.
    pub fn is_live_at(&self, now: u64) -> bool {
        self.not_after.is_none_or(|end| now < end)
    }
}

impl From<ClientSecret> for RegisteredSecret {
    /// A secret that never expires.
    fn from(secret: ClientSecret) -> Self {
        RegisteredSecret::new(secret, None)
    }
}

impl fmt::Debug for RegisteredSecret {
    /// The kind of hash and `not_after`; never the hash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredSecret")
            .field("secret", &self.secret)
            .field("not_after", &self.not_after)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_live_strictly_before_its_not_after() {
        let (_, secret) = ClientSecret::generate();
        let forever = RegisteredSecret::from(secret.clone());
        assert!(forever.is_live_at(u64::MAX));
        let ending = RegisteredSecret::new(secret, Some(100));
        assert!(ending.is_live_at(99));
        assert!(!ending.is_live_at(100));
        assert!(!ending.is_live_at(101));
        let shown = format!("{ending:?}");
        assert_eq!(
            shown,
            "RegisteredSecret { secret: ClientSecret::Sha256(***), not_after: Some(100) }"
        );
    }
}
