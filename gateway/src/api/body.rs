//! Request bodies: JSON read with the path of the field that failed, and a [`PatchBody`]
//! checked field by field into the engine's [`PatchSpec`].

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use borderlink_protocol::ids::{Network, PeiIdentity, TsiForm};
use borderlink_protocol::voice::SiteId;
use serde::de::DeserializeOwned;

use super::ApiState;
use super::error::ApiError;
use super::model::{ChannelBody, ConsoleBody, PatchBody};
use crate::config::parse_duration;
use crate::engine::endpoint::ConsoleId;
use crate::engine::patch::{Channel, PatchKind, PatchSpec, SiteConsole};

/// The largest request body read: a patch of a few hundred channels fits with room.
pub const MAX_BODY: usize = 64 * 1024;

/// A request body of at most `MAX` bytes that arrived within the API's body timeout. As an
/// extractor it runs after the [guard](super::guard), so no stranger's body is read.
#[derive(Debug, Clone)]
pub struct LimitedBody<const MAX: usize>(pub Bytes);

impl<const MAX: usize> FromRequest<ApiState> for LimitedBody<MAX> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, ApiError> {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(length) = declared.filter(|l| *l > MAX as u64) {
            return Err(too_large(length.to_string(), MAX));
        }
        let timeout = state.options.limits.body_timeout;
        match tokio::time::timeout(timeout, axum::body::to_bytes(request.into_body(), MAX)).await {
            Ok(Ok(bytes)) => Ok(LimitedBody(bytes)),
            // Without a Content-Length (chunked) the limit is found while reading.
            Ok(Err(e)) if is_length_limit(&e) => Err(too_large(format!("more than {MAX}"), MAX)),
            Ok(Err(e)) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the request body could not be read: {e}"),
            )),
            Err(_) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s",
                    timeout.as_secs_f32()
                ),
            )),
        }
    }
}

fn too_large(length: String, max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body has {length} bytes; this route takes at most {max}"),
    )
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.to_string().contains("length limit exceeded") {
            return true;
        }
        source = e.source();
    }
    false
}

/// Reads a JSON body; an error names the field (`channels[1].site`) and what was expected.
pub fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "the request needs a JSON body",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        // serde_json's message already says the line and column.
        let message = e.into_inner().to_string();
        // serde_path_to_error writes `.` for the document itself and `?` where the syntax
        // broke before a field was known.
        if path == "." || path == "?" || path.is_empty() {
            ApiError::new(axum::http::StatusCode::BAD_REQUEST, message)
        } else {
            ApiError::field(path, message)
        }
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            format!("trailing characters after the JSON body: {e}"),
        )
    })?;
    Ok(value)
}

impl PatchBody {
    /// The engine's definition of this patch, created by `who`. Each field is checked here
    /// for what the request alone can tell; rules between patches are the engine's.
    pub fn to_spec(&self, who: &str) -> Result<PatchSpec, ApiError> {
        let channels = self
            .channels
            .iter()
            .enumerate()
            .map(|(index, c)| c.to_channel(index))
            .collect::<Result<Vec<_>, _>>()?;
        let consoles = self.consoles.iter().map(ConsoleBody::to_console).collect();
        let duration = |field: &str, text: &Option<String>| match text {
            None => Ok(None),
            Some(text) => parse_duration(text).map(Some).map_err(|e| {
                ApiError::field(
                    field,
                    format!("`{text}`: {e}; write e.g. \"2h\", \"30min\", \"90s\""),
                )
            }),
        };
        let spec = PatchSpec {
            name: self.name.clone(),
            channels,
            consoles,
            lifetime: duration("lifetime", &self.lifetime)?,
            inactivity_timeout: duration("inactivity_timeout", &self.inactivity_timeout)?,
            kind: PatchKind::Dynamic {
                created_by: who.to_owned(),
            },
        };
        spec.validate()?;
        Ok(spec)
    }
}

impl ChannelBody {
    fn to_channel(&self, index: usize) -> Result<Channel, ApiError> {
        let network = match self.network.as_str() {
            "ASTRID" => Network::Astrid,
            "C2000" => Network::C2000,
            other => {
                return Err(ApiError::field(
                    format!("channels[{index}].network"),
                    format!("`{other}` is not a network; expected \"ASTRID\" or \"C2000\""),
                ));
            }
        };
        let field = || format!("channels[{index}].group");
        let group = match PeiIdentity::parse(&self.group) {
            Ok(PeiIdentity::Tsi(tsi)) => tsi,
            Ok(PeiIdentity::Ssi(_)) => {
                return Err(ApiError::field(
                    field(),
                    format!(
                        "`{}` is a bare SSI; give the full GTSI (MCC, MNC and SSI digits)",
                        self.group
                    ),
                ));
            }
            Err(e) => return Err(ApiError::field(field(), format!("`{}`: {e}", self.group))),
        };
        Ok(Channel {
            site: SiteId(self.site),
            network,
            group,
        })
    }
}

impl ConsoleBody {
    fn to_console(&self) -> SiteConsole {
        SiteConsole {
            site: SiteId(self.site),
            console: ConsoleId(self.console),
        }
    }
}

impl ChannelBody {
    /// The API form of an engine channel.
    pub fn from_channel(c: &Channel) -> Self {
        ChannelBody {
            site: c.site.0,
            network: c.network.to_string(),
            group: c.group.pei(TsiForm::Long).to_string(),
        }
    }
}

impl ConsoleBody {
    /// The API form of an engine console.
    pub fn from_console(c: &SiteConsole) -> Self {
        ConsoleBody {
            site: c.site.0,
            console: c.console.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn body(text: &str) -> Result<PatchSpec, ApiError> {
        json::<PatchBody>(text.as_bytes())?.to_spec("tester")
    }

    const GOOD: &str = r#"{"name":"Baarle","channels":[
        {"site":1,"network":"ASTRID","group":"02060000102061001"},
        {"site":2,"network":"C2000","group":"02040000102040551"}],
        "lifetime":"2h","inactivity_timeout":"30min"}"#;

    #[test]
    fn a_good_body_becomes_a_dynamic_patch_with_its_timers() {
        let spec = body(GOOD).unwrap();
        assert_eq!(spec.name, "Baarle");
        assert_eq!(spec.channels.len(), 2);
        assert_eq!(spec.channels[1].network, Network::C2000);
        assert_eq!(
            spec.channels[1].group.pei(TsiForm::Long).to_string(),
            "02040000102040551"
        );
        assert_eq!(spec.lifetime.unwrap().as_micros(), 7_200_000_000);
        assert_eq!(spec.inactivity_timeout.unwrap().as_micros(), 1_800_000_000);
        assert_eq!(
            spec.kind,
            PatchKind::Dynamic {
                created_by: "tester".into()
            }
        );
    }

    fn field_of(text: &str) -> (StatusCode, Option<String>, String) {
        let e = body(text).unwrap_err();
        (e.status, e.body.field, e.body.error)
    }

    #[test]
    fn a_wrong_type_names_its_field() {
        let text = GOOD.replace("\"site\":2", "\"site\":\"two\"");
        let (status, field, _) = field_of(&text);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(field.as_deref(), Some("channels[1].site"));
    }

    #[test]
    fn an_unknown_field_is_refused_by_name() {
        let text = GOOD.replace("\"lifetime\"", "\"lifetyme\"");
        let (_, _, error) = field_of(&text);
        assert!(error.contains("lifetyme"), "{error}");
    }

    #[test]
    fn a_missing_field_is_named() {
        let (status, _, error) = field_of(r#"{"name":"x"}"#);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error.contains("channels"), "{error}");
    }

    #[test]
    fn a_bad_group_names_the_channel() {
        let text = GOOD.replace("02040000102040551", "0204xx");
        let (_, field, _) = field_of(&text);
        assert_eq!(field.as_deref(), Some("channels[1].group"));
    }

    #[test]
    fn a_bare_ssi_is_refused() {
        let text = GOOD.replace("02040000102040551", "2040551");
        let (_, field, error) = field_of(&text);
        assert_eq!(field.as_deref(), Some("channels[1].group"));
        assert!(error.contains("bare SSI"), "{error}");
    }

    #[test]
    fn a_group_of_the_other_network_is_refused_by_the_engine_rule() {
        let text = GOOD.replace("\"network\":\"C2000\"", "\"network\":\"ASTRID\"");
        let (_, field, _) = field_of(&text);
        assert_eq!(field.as_deref(), Some("channels[1].group"));
    }

    #[test]
    fn an_unknown_network_is_named() {
        let text = GOOD.replace("\"network\":\"C2000\"", "\"network\":\"TETRAPOL\"");
        let (_, field, error) = field_of(&text);
        assert_eq!(field.as_deref(), Some("channels[1].network"));
        assert!(error.contains("TETRAPOL"), "{error}");
    }

    #[test]
    fn a_bad_duration_names_the_field() {
        let text = GOOD.replace("\"2h\"", "\"two hours\"");
        let (_, field, _) = field_of(&text);
        assert_eq!(field.as_deref(), Some("lifetime"));
    }

    #[test]
    fn a_blank_name_is_refused() {
        let text = GOOD.replace("\"Baarle\"", "\"  \"");
        let (_, field, _) = field_of(&text);
        assert_eq!(field.as_deref(), Some("name"));
    }

    #[test]
    fn one_channel_is_not_a_patch() {
        let text = r#"{"name":"x","channels":[{"site":1,"network":"ASTRID","group":"02060000102061001"}]}"#;
        let (_, field, _) = field_of(text);
        assert_eq!(field.as_deref(), Some("channels"));
    }

    #[test]
    fn not_json_and_trailing_garbage_are_refused() {
        let e = body("{").unwrap_err();
        assert_eq!((e.status, e.body.field), (StatusCode::BAD_REQUEST, None));
        assert_eq!(body("").unwrap_err().status, StatusCode::BAD_REQUEST);
        let e = body(&format!("{GOOD} x")).unwrap_err();
        assert!(e.body.error.contains("trailing"), "{}", e.body.error);
    }
}
