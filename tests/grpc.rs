//! The protect half under gRPC: the service of `examples/grpc.rs` served over real TCP and
//! called with a real tonic client, so the layers' trailers-only statuses are checked as tonic
//! reads them.

mod common;
// The example itself, so the test proves the code users copy; its `main` and command-line
// helpers go unused here.
#[allow(dead_code)]
#[path = "../examples/grpc.rs"]
mod grpc_example;

use common::{AUDIENCE, ISSUER};
use grpc_example::{GetReportRequest, Report, ReportsClient, serve};
use tokio::net::TcpListener;
use tonic::Code;
use tower_client_credentials::testing::TestIssuer;

struct Fixture {
    issuer: TestIssuer,
    client: ReportsClient,
}

async fn fixture() -> Fixture {
    let issuer = TestIssuer::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("test issuer");
    let validator = issuer.validator();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { serve(listener, validator).await.expect("server runs") });
    let client = ReportsClient::connect(addr).await.expect("connect");
    Fixture { issuer, client }
}

impl Fixture {
    /// A valid token for client `sub` with `scope`.
    fn token(&self, sub: &str, scope: &str) -> String {
        self.issuer.token().client_id(sub).scope(scope).sign()
    }

    /// Calls `GetReport` for `r-1` with `authorization` metadata, if any; a failure comes back
    /// as its code and message.
    async fn get_report(&self, authorization: Option<&str>) -> Result<Report, (Code, String)> {
        let mut request = tonic::Request::new(GetReportRequest { id: "r-1".into() });
        if let Some(value) = authorization {
            request
                .metadata_mut()
                .insert("authorization", value.parse().expect("ascii metadata"));
        }
        self.client
            .clone()
            .get_report(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| (status.code(), status.message().to_owned()))
    }

    async fn get_report_bearer(&self, token: &str) -> Result<Report, (Code, String)> {
        self.get_report(Some(&format!("Bearer {token}"))).await
    }
}

fn unauthenticated(message: &str) -> Result<Report, (Code, String)> {
    Err((Code::Unauthenticated, message.to_owned()))
}

#[tokio::test]
async fn token_with_reports_read_gets_the_report_owned_by_its_sub() {
    let f = fixture().await;
    let t = f.token("svc-reporter", "reports:read");
    assert_eq!(
        f.get_report_bearer(&t).await,
        Ok(Report {
            id: "r-1".into(),
            title: "Report r-1".into(),
            owner: "svc-reporter".into(),
        })
    );
}

#[tokio::test]
async fn no_token_is_unauthenticated_no_bearer_token() {
    let f = fixture().await;
    assert_eq!(f.get_report(None).await, unauthenticated("no bearer token"));
}

#[tokio::test]
async fn another_scheme_is_unauthenticated_no_bearer_token() {
    let f = fixture().await;
    assert_eq!(
        f.get_report(Some("Basic ZGVtbzpkZW1vLXNlY3JldA==")).await,
        unauthenticated("no bearer token")
    );
}

#[tokio::test]
async fn empty_bearer_is_unauthenticated_empty_bearer_token() {
    let f = fixture().await;
    assert_eq!(
        f.get_report(Some("Bearer")).await,
        unauthenticated("empty bearer token")
    );
}

#[tokio::test]
async fn malformed_token_is_unauthenticated_the_token_is_malformed() {
    let f = fixture().await;
    assert_eq!(
        f.get_report_bearer("a.b.c").await,
        unauthenticated("the token is malformed")
    );
}

#[tokio::test]
async fn expired_token_is_unauthenticated_the_token_has_expired() {
    let f = fixture().await;
    // exp an hour ago.
    let t = f
        .issuer
        .token()
        .client_id("svc-reporter")
        .scope("reports:read")
        .expired()
        .sign();
    assert_eq!(
        f.get_report_bearer(&t).await,
        unauthenticated("the token has expired")
    );
}

#[tokio::test]
async fn token_signed_by_another_key_is_unauthenticated_unknown_key() {
    let f = fixture().await;
    let t = f
        .issuer
        .token()
        .client_id("svc-reporter")
        .scope("reports:read")
        .signed_by_unknown_key()
        .sign();
    assert_eq!(
        f.get_report_bearer(&t).await,
        unauthenticated("the signing key is not known")
    );
}

#[tokio::test]
async fn token_without_reports_read_is_permission_denied() {
    let f = fixture().await;
    let t = f.token("svc-writer", "reports:write");
    assert_eq!(
        f.get_report_bearer(&t).await,
        Err((Code::PermissionDenied, "insufficient scope".to_owned()))
    );
}

#[tokio::test]
async fn rejected_call_leaves_the_connection_usable() {
    let f = fixture().await;
    assert_eq!(f.get_report(None).await, unauthenticated("no bearer token"));
    let t = f.token("svc-reporter", "reports:read");
    assert_eq!(
        f.get_report_bearer(&t).await.map(|report| report.owner),
        Ok("svc-reporter".to_owned())
    );
}
