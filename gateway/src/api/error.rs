//! The API's refusals: an HTTP status and a JSON [`ErrorBody`] that says what is wrong and,
//! for a bad request, which field.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::model::ErrorBody;
use crate::engine::patch::PatchError;

/// A refused API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: ErrorBody,
}

impl std::fmt::Display for ApiError {
    /// The status and the message, with the field it is about: what the JSON body says.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(field) = &self.body.field {
            write!(f, " ({field})")?;
        }
        write!(f, ": {}", self.body.error)
    }
}

impl ApiError {
    /// 400 with a message about `field`.
    pub fn field(field: impl Into<String>, error: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody {
                error: error.into(),
                field: Some(field.into()),
            },
        }
    }

    /// Any status with a message and no field.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                field: None,
            },
        }
    }

    /// 401: no or a wrong bearer token.
    pub fn unauthorized(error: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, error)
    }

    /// 404: no such thing.
    pub fn not_found(error: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, error)
    }

    /// 503: the daemon is shutting down and no longer takes requests.
    pub fn unavailable() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon is shutting down",
        )
    }
}

impl From<PatchError> for ApiError {
    /// The engine's refusal of a patch, placed on the request field it concerns.
    fn from(error: PatchError) -> Self {
        let message = error.to_string();
        let (status, field) = match &error {
            PatchError::EmptyName => (StatusCode::BAD_REQUEST, Some("name".to_owned())),
            PatchError::TooFewEndpoints { .. } => {
                (StatusCode::BAD_REQUEST, Some("channels".to_owned()))
            }
            PatchError::GroupNotInNetwork { index, .. } => (
                StatusCode::BAD_REQUEST,
                Some(format!("channels[{index}].group")),
            ),
            PatchError::DuplicateChannel { index, .. } => {
                (StatusCode::BAD_REQUEST, Some(format!("channels[{index}]")))
            }
            PatchError::DuplicateConsole { index, .. } => {
                (StatusCode::BAD_REQUEST, Some(format!("consoles[{index}]")))
            }
            // The request is well formed but the system's state forbids it.
            PatchError::ChannelInUse { index, .. } => {
                (StatusCode::CONFLICT, Some(format!("channels[{index}]")))
            }
            PatchError::ZeroLifetime { .. } => {
                (StatusCode::BAD_REQUEST, Some("lifetime".to_owned()))
            }
            PatchError::ZeroInactivityTimeout { .. } => (
                StatusCode::BAD_REQUEST,
                Some("inactivity_timeout".to_owned()),
            ),
            PatchError::UnknownPatch(_) => (StatusCode::NOT_FOUND, None),
        };
        ApiError {
            status,
            body: ErrorBody {
                error: message,
                field,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"borderlinkd\""),
            );
        }
        response
    }
}
