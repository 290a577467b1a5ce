//! Turning SDK errors into messages that say what failed and what to do.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use functionfuse_core::StorageFailure;

/// What kind of failure an SDK error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// 404 / `NoSuchKey`.
    NotFound,
    /// `NoSuchBucket`.
    NoBucket,
    /// 412: a conditional request's condition failed (the object exists),
    /// or 409 `ConditionalRequestConflict`: a conditional write racing
    /// another on the same key lost (AWS asks to retry; the race is lost).
    Exists,
    /// 416: a byte range outside the object.
    InvalidRange,
    /// 403: wrong or missing credentials, or no permission.
    Denied,
    /// No connection could be made or it broke (after retries).
    Unreachable,
    /// No credentials could be found (the request was never sent).
    NoCredentials,
    /// Anything else.
    Other,
}

/// Classifies `error`.
pub(crate) fn classify<E, R>(error: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata,
    R: HasStatus,
{
    match error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status_code();
            match (service.err().code(), status) {
                (Some("NoSuchBucket"), _) => Failure::NoBucket,
                (Some("NoSuchKey"), _) | (_, 404) => Failure::NotFound,
                (Some("PreconditionFailed" | "ConditionalRequestConflict"), _) | (_, 412) => {
                    Failure::Exists
                }
                (Some("InvalidRange"), _) | (_, 416) => Failure::InvalidRange,
                (Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch"), _)
                | (_, 403) => Failure::Denied,
                _ => Failure::Other,
            }
        }
        SdkError::DispatchFailure(dispatch)
            if dispatch
                .as_connector_error()
                .is_some_and(|connector| mentions_credentials(connector)) =>
        {
            Failure::NoCredentials
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => Failure::Unreachable,
        _ => Failure::Other,
    }
}

/// Whether a failure to send came from loading credentials: the SDK
/// reports it as a dispatch failure, like an unreachable server.
fn mentions_credentials(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.to_string().contains("credentials") {
            return true;
        }
        cause = error.source();
    }
    false
}

/// The status code of a raw response.
pub(crate) trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// A [`StorageFailure`] for `error` while `doing` (e.g. `PUT s3://b/k`),
/// with a hint for the failures users can fix.
pub(crate) fn failure<E, R>(error: &SdkError<E, R>, doing: &str, endpoint: &str) -> StorageFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: HasStatus + std::fmt::Debug + Send + Sync + 'static,
{
    let hint = match classify(error) {
        Failure::Unreachable => format!(
            "; cannot reach the S3 endpoint {endpoint}: is the server running and the address right?"
        ),
        Failure::Denied => {
            "; access denied: check the credentials (`key`/`secret`, AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or the profile) and their permissions"
                .to_owned()
        }
        Failure::NoCredentials => {
            "; no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
             name a profile (AWS_PROFILE or the option `profile`), or give the options `key` and `secret`"
                .to_owned()
        }
        Failure::NoBucket => "; the bucket does not exist".to_owned(),
        Failure::NotFound | Failure::Exists | Failure::InvalidRange | Failure::Other => {
            String::new()
        }
    };
    StorageFailure::new(
        format!("cannot {doing}{hint}"),
        anyhow::anyhow!(describe(error)),
    )
}

/// The error and its causes, each said once (the SDK's own context dump
/// adds a page of `Debug` output that tells users nothing more).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = String::new();
    let mut cause = Some(error);
    while let Some(error) = cause {
        let text = error.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        cause = error.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::config::http::HttpResponse;
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::put_object::PutObjectError;
    use aws_sdk_s3::primitives::SdkBody;

    use super::*;

    fn service_error(code: &str, status: u16) -> SdkError<PutObjectError, HttpResponse> {
        let error = PutObjectError::generic(ErrorMetadata::builder().code(code).build());
        let status = status.try_into().expect("a status code");
        SdkError::service_error(error, HttpResponse::new(status, SdkBody::empty()))
    }

    #[test]
    fn a_lost_conditional_write_is_not_a_failure() {
        assert_eq!(
            classify(&service_error("PreconditionFailed", 412)),
            Failure::Exists
        );
        // AWS answers a conditional write racing another on the key so.
        assert_eq!(
            classify(&service_error("ConditionalRequestConflict", 409)),
            Failure::Exists
        );
        assert_eq!(classify(&service_error("Conflict", 409)), Failure::Other);
        assert_eq!(
            classify(&service_error("NoSuchKey", 404)),
            Failure::NotFound
        );
    }
}
