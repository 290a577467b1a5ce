//! The accept loop: s3s-fs behind a hyper service that applies the faults.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{Body, HttpError};

use crate::ServerOptions;
use crate::faults::{Decision, Faults};

type Response = http::Response<Body>;

/// Binds the port and spawns the accept loop on the current runtime.
pub(crate) async fn start(
    options: &ServerOptions,
    faults: Arc<Faults>,
) -> anyhow::Result<SocketAddr> {
    // s3s-fs's error type is not std::error::Error.
    let file_system = s3s_fs::FileSystem::new(&options.root)
        .map_err(|e| anyhow::anyhow!("cannot serve {}: {e:?}", options.root.display()))?;
    let service = {
        let mut builder = S3ServiceBuilder::new(file_system);
        builder.set_auth(SimpleAuth::from_single(
            options.access_key.clone(),
            options.secret_key.clone(),
        ));
        builder.build()
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", options.port))?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((socket, _peer)) = listener.accept().await else {
                continue;
            };
            // Without it, small requests wait on delayed ACKs.
            let _ = socket.set_nodelay(true);
            let service = service.clone();
            let faults = Arc::clone(&faults);
            tokio::spawn(async move {
                let handler =
                    hyper::service::service_fn(move |request: http::Request<Incoming>| {
                        handle(service.clone(), Arc::clone(&faults), request)
                    });
                let _ = ConnectionBuilder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), handler)
                    .await;
            });
        }
    });
    Ok(address)
}

/// Serves one request, after the faults had their say.
async fn handle(
    service: S3Service,
    faults: Arc<Faults>,
    request: http::Request<Incoming>,
) -> Result<Response, HttpError> {
    if let Some(latency) = faults.latency() {
        tokio::time::sleep(latency).await;
    }
    match faults.decide(request.uri().path()) {
        Decision::Serve => hyper::service::Service::call(&service, request).await,
        Decision::Throttle => Ok(slow_down()),
        // An error makes hyper close the connection without an answer.
        Decision::Drop => Err(HttpError::new(
            "connection dropped by fault injection".into(),
        )),
    }
}

/// S3's answer to a client that sends too fast.
fn slow_down() -> Response {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
                <Message>Please reduce your request rate.</Message></Error>";
    let mut response = http::Response::new(Body::from(body.to_owned()));
    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    response
}
