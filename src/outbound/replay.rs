//! [`ReplayBody`]: whether [`AddBearer`](super::AddBearer) may send a request again, with a
//! renewed token, after the server refused the first one.

use http_body::Body;

/// Decides whether a request body can be sent a second time, and makes the copy to send.
///
/// [`AddBearer`](super::AddBearer) asks before it sends a request: once the body is handed to
/// the inner service it is gone (a stream is consumed as it is sent), so the copy for a retry
/// must be taken first. `None` means the request is sent once; if the server then refuses the
/// token, the token is still renewed (the next request gets the new one) and the 401 comes
/// back to the caller.
///
/// Three policies come with the crate:
///
/// | policy | replays | costs per request |
/// |---|---|---|
/// | [`ReplayEmpty`] (default) | bodies that are already at their end (`GET`, `DELETE`, empty `POST`): rebuilt with `B::default()` | nothing for other bodies |
/// | [`ReplayClone`] | every body, cloned (`Full<Bytes>`, `String`: a reference count or a copy) | one body clone |
/// | [`NoReplay`] | nothing | nothing |
///
/// A replayed request keeps the method, URI, version, headers and extensions of the first
/// (`http::Extensions` is `Clone` in http 1), with the renewed token in place of the refused
/// one. Replaying costs one clone of the request head (and of the inner service) per request
/// that may be replayed, taken before the first attempt.
///
/// Write your own for a body type that knows more (a buffered body that can rewind):
///
/// ```
/// use tower_client_credentials::outbound::ReplayBody;
///
/// /// Replays bodies up to 64 KiB, copied.
/// #[derive(Clone, Copy)]
/// struct SmallBodies;
///
/// impl ReplayBody<Vec<u8>> for SmallBodies {
///     fn replay(&self, body: &Vec<u8>) -> Option<Vec<u8>> {
///         (body.len() <= 64 * 1024).then(|| body.clone())
///     }
/// }
/// ```
pub trait ReplayBody<B> {
    /// A body to send in place of `body` on a retry, taken before `body` is sent; `None` when
    /// the request cannot be sent again.
    fn replay(&self, body: &B) -> Option<B>;
}

/// Replays requests whose body is already at its end ([`Body::is_end_stream`]), rebuilt with
/// `B::default()`: every `GET`, and a `POST` with an empty body. The default policy; it never
/// copies a body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayEmpty;

impl<B: Body + Default> ReplayBody<B> for ReplayEmpty {
    #[inline]
    fn replay(&self, body: &B) -> Option<B> {
        body.is_end_stream().then(B::default)
    }
}

/// Replays every request, with a clone of its body taken before the first attempt. For body
/// types whose clone is the whole body (`http_body_util::Full<Bytes>`: one reference count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayClone;

impl<B: Clone> ReplayBody<B> for ReplayClone {
    #[inline]
    fn replay(&self, body: &B) -> Option<B> {
        Some(body.clone())
    }
}

/// Never replays: a refused token is renewed for the next request and the 401 comes back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoReplay;

impl<B> ReplayBody<B> for NoReplay {
    #[inline]
    fn replay(&self, _body: &B) -> Option<B> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{Empty, Full};

    #[test]
    fn replay_empty_replays_only_bodies_at_their_end() {
        assert!(ReplayEmpty.replay(&Empty::<Bytes>::new()).is_some());
        assert!(ReplayEmpty.replay(&Full::new(Bytes::new())).is_some());
        assert!(ReplayEmpty.replay(&Full::new(Bytes::from("x"))).is_none());
        assert!(ReplayEmpty.replay(&String::new()).is_some());
        assert!(ReplayEmpty.replay(&String::from("x")).is_none());
    }

    #[test]
    fn replay_clone_copies_and_no_replay_refuses() {
        let body = Full::new(Bytes::from("x"));
        assert!(ReplayClone.replay(&body).is_some());
        assert!(NoReplay.replay(&body).is_none());
    }
}
