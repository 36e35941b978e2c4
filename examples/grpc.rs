//! A gRPC service protected by [`BearerAuthLayer`] and [`RequireScopeLayer`], on tonic, with
//! the service and client glue written by hand: no `.proto` compilation, no build script, no
//! `protoc`.
//!
//! ```text
//! cargo run --example grpc                     # serve on $ADDR (default 127.0.0.1:50051)
//! TOKEN=... cargo run --example grpc -- call   # call GetReport on $ADDR, with or without TOKEN
//! ```
//!
//! At start-up the server generates an EdDSA signing key and prints an access token with the
//! `reports:read` scope, valid for an hour and only against this process. Without a token the
//! call fails with `UNAUTHENTICATED` (`no bearer token`); with a token that lacks the scope, with
//! `PERMISSION_DENIED`.
//!
//! The service, as a `.proto` file would declare it (save it as `reports.proto` to call the
//! server with grpcurl: `grpcurl -plaintext -proto reports.proto -H "authorization: Bearer
//! $TOKEN" -d '{"id": "r-1"}' 127.0.0.1:50051 reports.Reports/GetReport`):
//!
//! ```proto
//! syntax = "proto3";
//! package reports;
//! service Reports { rpc GetReport(GetReportRequest) returns (Report); }
//! message GetReportRequest { string id = 1; }
//! message Report { string id = 1; string title = 2; string owner = 3; }
//! ```
//!
//! # How the glue works
//!
//! The messages derive `prost::Message`, with the tags of the `.proto` above. On the server,
//! [`ReportsServer`] is a tower `Service<http::Request<tonic::body::Body>>` that routes on the
//! request path and hands `/reports.Reports/GetReport` to `tonic::server::Grpc::unary` with the
//! prost codec; tonic decodes the request, calls [`get_report`] and frames the reply. Its
//! `NamedService` name makes tonic's router send it every `/reports.Reports/*` call. On the
//! client, [`ReportsClient`] passes the method path and the same codec to
//! `tonic::client::Grpc::unary`. This is what `tonic-prost-build` would generate, minus the
//! options a single RPC does not need.
//!
//! The auth layers wrap only this service (`LayerExt::named_layer` keeps its name), so other
//! services on the same server, such as health checks, can stay open. They answer gRPC
//! calls (HTTP/2 with an `application/grpc` content type, which is all tonic sends) with
//! trailers-only statuses, which tonic's client turns into a `Status`; any other request gets
//! the RFC 6750 status codes.
//!
//! `tests/grpc.rs` includes this file as a module (`#[path]`) and drives [`serve`] and
//! [`ReportsClient`] over TCP; the items it uses are `pub(crate)` for that reason only.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use http::uri::PathAndQuery;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::{LayerExt, Layered};
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{IntoRequest, Status};
use tonic_prost::ProstCodec;
use tower::ServiceBuilder;
use tower_client_credentials::keys::{Algorithm, KeyRing, KeySource, SigningKey};
use tower_client_credentials::protect::{BearerAuth, RequireScope};
use tower_client_credentials::{BearerAuthLayer, Claims, RequireScopeLayer, Validator};

/// The issuer the example's tokens name and its validator trusts.
const ISSUER: &str = "https://auth.example.com";
/// The audience the validator accepts.
const AUDIENCE: &str = "reports-api";
/// The scope `GetReport` requires.
const READ_SCOPE: &str = "reports:read";
/// The full method path of `GetReport` (`/{package}.{service}/{method}`).
const GET_REPORT: &str = "/reports.Reports/GetReport";

/// `reports.GetReportRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct GetReportRequest {
    #[prost(string, tag = "1")]
    pub(crate) id: String,
}

/// `reports.Report`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Report {
    #[prost(string, tag = "1")]
    pub(crate) id: String,
    #[prost(string, tag = "2")]
    pub(crate) title: String,
    /// The `sub` of the token that asked for the report.
    #[prost(string, tag = "3")]
    pub(crate) owner: String,
}

/// The `GetReport` handler: the reply names the verified caller as the owner.
async fn get_report(
    request: tonic::Request<GetReportRequest>,
) -> Result<tonic::Response<Report>, Status> {
    // tonic carries the HTTP request's extensions over, so the claims BearerAuthLayer verified
    // are here; their absence means the layer was not wired in front of this service.
    let owner = request
        .extensions()
        .get::<Arc<Claims>>()
        .map(|claims| claims.sub.clone())
        .ok_or_else(|| Status::internal("the service is not behind BearerAuthLayer"))?;
    let GetReportRequest { id } = request.into_inner();
    if id.is_empty() {
        return Err(Status::invalid_argument("id is required"));
    }
    Ok(tonic::Response::new(Report {
        title: format!("Report {id}"),
        id,
        owner,
    }))
}

/// The `reports.Reports` service, routed by hand.
#[derive(Debug, Clone, Copy, Default)]
struct ReportsServer;

impl NamedService for ReportsServer {
    const NAME: &'static str = "reports.Reports";
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// What tonic converts a service's errors into.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<http::Request<Body>> for ReportsServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match request.uri().path() {
            GET_REPORT => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(tower::service_fn(get_report), request).await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

/// [`ReportsServer`] behind the auth layers, still named `reports.Reports` for the router.
type ProtectedReports = Layered<BearerAuth<RequireScope<ReportsServer>>, ReportsServer>;

/// Builds the protected service: authenticate first, then check the scope.
fn protected_reports(validator: Validator) -> ProtectedReports {
    ServiceBuilder::new()
        .layer(BearerAuthLayer::new(validator))
        .layer(RequireScopeLayer::all([READ_SCOPE]))
        .into_inner()
        .named_layer(ReportsServer)
}

/// Serves the protected service on `listener` until the process ends.
pub(crate) async fn serve(
    listener: TcpListener,
    validator: Validator,
) -> Result<(), tonic::transport::Error> {
    Server::builder()
        .add_service(protected_reports(validator))
        .serve_with_incoming(TcpListenerStream::new(listener))
        .await
}

/// A client for `reports.Reports`: over a [`Channel`], or over any service that wraps one (a
/// tower layer that adds the caller's token, say).
#[derive(Debug, Clone)]
pub(crate) struct ReportsClient<T = Channel> {
    grpc: tonic::client::Grpc<T>,
}

impl ReportsClient {
    /// Connects over plaintext HTTP/2.
    pub(crate) async fn connect(addr: SocketAddr) -> Result<Self, tonic::transport::Error> {
        let channel = Endpoint::from_shared(format!("http://{addr}"))?
            .connect()
            .await?;
        Ok(ReportsClient::new(channel))
    }
}

impl<T> ReportsClient<T>
where
    T: tonic::client::GrpcService<Body>,
    T::ResponseBody: http_body::Body + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<BoxError>,
{
    /// A client over `service`: a channel, or a channel behind tower layers.
    pub(crate) fn new(service: T) -> Self {
        ReportsClient {
            grpc: tonic::client::Grpc::new(service),
        }
    }

    /// Calls `GetReport`; put the token in the request's `authorization` metadata (or wrap
    /// the channel in a layer that does).
    pub(crate) async fn get_report(
        &mut self,
        request: impl IntoRequest<GetReportRequest>,
    ) -> Result<tonic::Response<Report>, Status> {
        self.grpc.ready().await.map_err(|e| {
            let e: BoxError = e.into();
            Status::unavailable(format!("the channel is not ready: {e}"))
        })?;
        self.grpc
            .unary(
                request.into_request(),
                PathAndQuery::from_static(GET_REPORT),
                ProstCodec::default(),
            )
            .await
    }
}

/// Access-token claims (RFC 9068 §2.2) for `sub` with `scope`, valid for an hour.
fn demo_claims(sub: &str, scope: &str) -> serde_json::Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    serde_json::json!({
        "iss": ISSUER, "sub": sub, "aud": AUDIENCE, "exp": now + 3600, "iat": now,
        "jti": format!("{sub}-{now}"), "client_id": sub, "scope": scope,
    })
}

fn addr() -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:50051".to_owned());
    addr.parse()
        .map_err(|e| format!("ADDR={addr} is not a socket address: {e}").into())
}

async fn run_server(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
    let validator = Validator::builder()
        .issuer(ISSUER, KeySource::local(ring.clone()))
        .audience(AUDIENCE)
        .build()?;
    let token = ring
        .active()
        .sign("at+jwt", &demo_claims("demo-client", READ_SCOPE))?;
    let listener = TcpListener::bind(addr).await?;
    println!("reports.Reports on {}", listener.local_addr()?);
    println!("a token with `{READ_SCOPE}`, valid for an hour against this process:\n");
    println!("TOKEN={token}\n");
    println!("try: TOKEN=<the token> cargo run --example grpc -- call");
    serve(listener, validator).await?;
    Ok(())
}

async fn run_client(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    let mut client = ReportsClient::connect(addr).await?;
    let mut request = tonic::Request::new(GetReportRequest { id: "r-1".into() });
    if let Ok(token) = std::env::var("TOKEN") {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
    }
    match client.get_report(request).await {
        Ok(reply) => println!("{:?}", reply.into_inner()),
        Err(status) => println!("{:?}: {}", status.code(), status.message()),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = addr()?;
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => run_server(addr).await,
        Some("call") => run_client(addr).await,
        Some(other) => Err(format!("unknown command {other:?}; use `serve` or `call`").into()),
    }
}
