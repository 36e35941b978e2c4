//! The `Authorization` header(s) of a request to a protected service: any bytes get 200, 400,
//! 401 or 403, never a panic or a 5xx.
//!
//! Input: a mode byte, then up to three header values separated by `\n` (which no header value
//! can hold). Mode odd: the first value is `Bearer ` + a signed token built from the rest of
//! the input as `tower_client_credentials_fuzz::token_from` reads it.
#![no_main]

use bytes::Bytes;
use http::{HeaderValue, Request, header};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;
use tower_client_credentials_fuzz::{fixture, token_from};

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let values: Vec<Vec<u8>> = if mode & 1 == 1 {
        vec![format!("Bearer {}", token_from(rest)).into_bytes()]
    } else {
        rest.split(|&b| b == b'\n')
            .take(3)
            .map(<[u8]>::to_vec)
            .collect()
    };
    let mut request = Request::builder().uri("/reports");
    let mut sent = 0;
    for value in values {
        // Bytes that are not a header value never reach a service.
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            request = request.header(header::AUTHORIZATION, value);
            sent += 1;
        }
    }
    let request = request.body(Full::<Bytes>::default()).expect("request");
    let f = fixture();
    let response = f
        .runtime
        .block_on(f.api.clone().oneshot(request))
        .expect("infallible");
    let status = response.status().as_u16();
    assert!(matches!(status, 200 | 400 | 401 | 403), "status {status}");
    if status == 200 {
        assert_eq!(sent, 1, "200 for {sent} Authorization headers");
    } else {
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
});
