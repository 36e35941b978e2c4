//! A request to the token endpoint (`ClientCredentialsTokenService`): any input gets one of
//! the documented answers (200, 400, 401, 405, 413, 429), always an RFC 6749 JSON body with
//! `Cache-Control: no-store`; never a panic or a 5xx.
//!
//! Input: a flags byte, then parts split at `0xff`:
//! - bit 0-1 = 3: GET instead of POST; bits 2-3 = 3: a JSON content type instead of the form's;
//! - bits 4-5: no `Authorization`; the registered client's real Basic credentials; the next
//!   part as the header value; or `Basic ` + base64 of the next part;
//! - bit 6: the body starts with `grant_type=client_credentials&` (checked first);
//! - bit 7: the next part is a client assertion payload (JSON), signed with the registered
//!   signer's key and appended as `client_assertion`;
//! - the rest is the body.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, header};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;
use tower_client_credentials_fuzz::{
    CLIENT, SECRET, assertion_from, fixture, split, token_service,
};

const FORM: &str = "application/x-www-form-urlencoded";
const ASSERTION_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let method = if flags & 0b11 == 0b11 {
        Method::GET
    } else {
        Method::POST
    };
    let content_type = if flags >> 2 & 0b11 == 0b11 {
        "application/json"
    } else {
        FORM
    };
    let mut request = Request::builder()
        .method(method)
        .uri("/oauth2/token")
        .header(header::CONTENT_TYPE, content_type);
    let authorization = match flags >> 4 & 0b11 {
        0 => None,
        1 => Some(format!("Basic {}", STANDARD.encode(format!("{CLIENT}:{SECRET}"))).into_bytes()),
        mode => {
            let (part, after) = split(rest);
            rest = after;
            Some(if mode == 2 {
                part.to_vec()
            } else {
                format!("Basic {}", STANDARD.encode(part)).into_bytes()
            })
        }
    };
    if let Some(value) = authorization.and_then(|v| HeaderValue::from_bytes(&v).ok()) {
        request = request.header(header::AUTHORIZATION, value);
    }
    let mut body = Vec::new();
    if flags & 0x40 != 0 {
        body.extend_from_slice(b"grant_type=client_credentials&");
    }
    if flags & 0x80 != 0 {
        let (payload, after) = split(rest);
        rest = after;
        let assertion = assertion_from(payload);
        body.extend_from_slice(
            format!("client_assertion_type={ASSERTION_TYPE}&client_assertion={assertion}&")
                .as_bytes(),
        );
    }
    body.extend_from_slice(rest);
    let request = request.body(Full::new(Bytes::from(body))).expect("request");

    let f = fixture();
    let response = f
        .runtime
        .block_on(token_service().oneshot(request))
        .expect("infallible");
    let status = response.status().as_u16();
    assert!(
        matches!(status, 200 | 400 | 401 | 405 | 413 | 429),
        "status {status}"
    );
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let body = f
        .runtime
        .block_on(response.into_body().collect())
        .expect("body")
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).expect("a JSON body");
    if status == 200 {
        assert!(json["access_token"].is_string());
    } else {
        assert!(json["error"].is_string(), "{json}");
    }
});
