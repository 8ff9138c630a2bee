//! The request binding: a request's fields from its query string and its body (JSON or form),
//! keys matched case-insensitively as Go's JSON decoder does. Body fields win over query fields.

use std::collections::HashMap;

use http::header;
use http::request::Parts;
use percent_encoding::percent_decode;
use serde_json::Value;
use volo_http::body::Body;
use volo_http::context::ServerContext;
use volo_http::server::extract::FromRequest;

use crate::body::read_body;
use crate::error::ApiError;

#[derive(Debug)]
enum Field {
    /// From the query string or a form body: always text, parsed by the type asked for.
    Text(String),
    /// From a JSON body: its JSON type must match.
    Json(Value),
}

#[derive(Debug, Default)]
pub struct Fields(HashMap<String, Field>);

impl Fields {
    fn insert_all(
        &mut self,
        pairs: impl IntoIterator<Item = (String, Field)>,
    ) -> Result<(), ApiError> {
        let mut seen = HashMap::new();
        for (key, value) in pairs {
            let key = key.to_lowercase();
            if seen.insert(key.clone(), ()).is_some() {
                return Err(ApiError::invalid(format!(
                    "field {key:?} is given more than once"
                )));
            }
            self.0.insert(key, value);
        }
        Ok(())
    }

    /// `value` (of a header) as the field `name`, which must then be absent or the same.
    fn add_alias(&mut self, name: &str, header: &str, value: &[u8]) -> Result<(), ApiError> {
        let value = std::str::from_utf8(value)
            .map_err(|_| ApiError::invalid(format!("the {header} header is not valid UTF-8")))?;
        if value.is_empty() {
            return Err(ApiError::invalid(format!("the {header} header is empty")));
        }
        match self.string(name)? {
            Some(given) if given != value => Err(ApiError::invalid(format!(
                "{name} and the {header} header differ; give one, or both the same"
            ))),
            _ => {
                self.0
                    .insert(name.to_owned(), Field::Text(value.to_owned()));
                Ok(())
            }
        }
    }

    /// A string field; absent, `null` or empty in a query means not given.
    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(name) {
            None | Some(Field::Json(Value::Null)) => Ok(None),
            Some(Field::Text(s)) if s.is_empty() => Ok(None),
            Some(Field::Text(s)) => Ok(Some(s.clone())),
            Some(Field::Json(Value::String(s))) => Ok(Some(s.clone())),
            Some(Field::Json(_)) => Err(ApiError::invalid(format!("{name} must be a string"))),
        }
    }

    /// An integer field that must fit `T`.
    pub fn integer<T: TryFrom<i64>>(&self, name: &str) -> Result<Option<T>, ApiError> {
        let value = match self.0.get(name) {
            None | Some(Field::Json(Value::Null)) => return Ok(None),
            Some(Field::Text(s)) if s.is_empty() => return Ok(None),
            Some(Field::Text(s)) => s.trim().parse::<i64>().ok(),
            Some(Field::Json(Value::Number(n))) => n.as_i64(),
            Some(Field::Json(_)) => None,
        };
        value
            .and_then(|v| T::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "{name} must be a whole number that fits {}",
                    std::any::type_name::<T>()
                ))
            })
    }

    /// A boolean field: JSON `true`/`false`, or in a query `true`, `false`, `1`, `0` and the
    /// other spellings Go's `strconv.ParseBool` accepts.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(name) {
            None | Some(Field::Json(Value::Null)) => Ok(None),
            Some(Field::Json(Value::Bool(b))) => Ok(Some(*b)),
            Some(Field::Text(s)) => match s.as_str() {
                "" => Ok(None),
                "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Some(true)),
                "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(Some(false)),
                _ => Err(ApiError::invalid(format!("{name} must be true or false"))),
            },
            Some(Field::Json(_)) => Err(ApiError::invalid(format!("{name} must be true or false"))),
        }
    }
}

impl Fields {
    /// The fields of a request with this query string, `Content-Type` and (whole) body: the
    /// whole binding, apart from reading the body.
    pub fn parse(
        query: Option<&[u8]>,
        content_type: Option<&[u8]>,
        body: &[u8],
    ) -> Result<Self, ApiError> {
        let mut fields = Fields::default();
        if let Some(query) = query {
            fields.insert_all(form_pairs(query, "query string")?)?;
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(fields);
        }
        let mut from_body = Fields::default();
        match body_kind(content_type, body)? {
            BodyKind::Json => from_body.insert_all(json_pairs(body)?)?,
            BodyKind::Form => from_body.insert_all(form_pairs(body, "form body")?)?,
        }
        fields.0.extend(from_body.0);
        Ok(fields)
    }
}

impl FromRequest for Fields {
    type Rejection = ApiError;

    async fn from_request(
        _: &mut ServerContext,
        parts: Parts,
        body: Body,
    ) -> Result<Self, ApiError> {
        let body = read_body(body).await?;
        let mut fields = Fields::parse(
            parts.uri.query().map(str::as_bytes),
            parts
                .headers
                .get(header::CONTENT_TYPE)
                .map(|value| value.as_bytes()),
            &body,
        )?;
        if let Some(key) = parts.headers.get(IDEMPOTENCY_KEY) {
            fields.add_alias("client_msg_id", IDEMPOTENCY_KEY, key.as_bytes())?;
        }
        Ok(fields)
    }
}

/// The IETF header that names a request for safe retries: an alias of `client_msg_id`.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

enum BodyKind {
    Json,
    Form,
}

/// By Content-Type; without one, a body that looks like a JSON object is JSON (reference clients
/// send GET requests with a JSON body and no header), anything else a form.
fn body_kind(content_type: Option<&[u8]>, body: &[u8]) -> Result<BodyKind, ApiError> {
    let Some(content_type) = content_type else {
        let looks_like_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        return Ok(if looks_like_json {
            BodyKind::Json
        } else {
            BodyKind::Form
        });
    };
    let content_type = std::str::from_utf8(content_type).unwrap_or_default();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || mime.ends_with("+json") {
        Ok(BodyKind::Json)
    } else if mime == "application/x-www-form-urlencoded" {
        Ok(BodyKind::Form)
    } else {
        Err(ApiError::unsupported_media_type(content_type))
    }
}

/// `application/x-www-form-urlencoded` pairs. Unlike the usual lossy decoders this refuses
/// percent-escapes that are not UTF-8, so no text is silently altered.
fn form_pairs(raw: &[u8], what: &str) -> Result<Vec<(String, Field)>, ApiError> {
    raw.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = match pair.iter().position(|b| *b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            Ok((
                form_decode(key, what)?,
                Field::Text(form_decode(value, what)?),
            ))
        })
        .collect()
}

fn form_decode(raw: &[u8], what: &str) -> Result<String, ApiError> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::invalid(format!("the {what} is not valid UTF-8")))
}

fn json_pairs(raw: &[u8]) -> Result<Vec<(String, Field)>, ApiError> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map.into_iter().map(|(k, v)| (k, Field::Json(v))).collect()),
        Ok(_) => Err(ApiError::invalid("the JSON body must be an object")),
        Err(err) => Err(ApiError::invalid(format!("malformed JSON body: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(raw: &str) -> Fields {
        let mut fields = Fields::default();
        fields
            .insert_all(json_pairs(raw.as_bytes()).unwrap())
            .unwrap();
        fields
    }

    fn query(raw: &str) -> Fields {
        let mut fields = Fields::default();
        fields
            .insert_all(form_pairs(raw.as_bytes(), "query").unwrap())
            .unwrap();
        fields
    }

    #[test]
    fn keys_match_in_any_letter_case() {
        let fields = json(r#"{"Chat":"a:b","LIMIT":5,"Reverse":true}"#);
        assert_eq!(fields.string("chat").unwrap().as_deref(), Some("a:b"));
        assert_eq!(fields.integer::<i32>("limit").unwrap(), Some(5));
        assert_eq!(fields.boolean("reverse").unwrap(), Some(true));
    }

    #[test]
    fn json_types_must_match() {
        let fields = json(r#"{"chat":5,"limit":"5","cursor":1.5,"reverse":"yes"}"#);
        assert!(fields.string("chat").is_err());
        assert!(fields.integer::<i32>("limit").is_err());
        assert!(fields.integer::<i64>("cursor").is_err());
        assert!(fields.boolean("reverse").is_err());
    }

    #[test]
    fn integers_must_fit_their_idl_type() {
        let fields = json(r#"{"limit":2147483648,"cursor":9223372036854775807}"#);
        assert!(fields.integer::<i32>("limit").is_err());
        assert_eq!(fields.integer::<i64>("cursor").unwrap(), Some(i64::MAX));
    }

    #[test]
    fn query_values_are_parsed_and_empty_means_absent() {
        let fields = query("cursor=42&limit=&reverse=1&chat=a%3Ab");
        assert_eq!(fields.integer::<i64>("cursor").unwrap(), Some(42));
        assert_eq!(fields.integer::<i32>("limit").unwrap(), None);
        assert_eq!(fields.boolean("reverse").unwrap(), Some(true));
        assert_eq!(fields.string("chat").unwrap().as_deref(), Some("a:b"));
        assert!(query("limit=ten").integer::<i32>("limit").is_err());
        assert!(query("reverse=maybe").boolean("reverse").is_err());
    }

    #[test]
    fn form_values_decode_strictly() {
        let fields = query("text=a+b%20c%E4%BD%A0&sender=%F0%9F%98%80");
        assert_eq!(fields.string("text").unwrap().as_deref(), Some("a b c你"));
        assert_eq!(fields.string("sender").unwrap().as_deref(), Some("😀"));
        assert!(form_pairs(b"text=%FF", "form body").is_err());
    }

    #[test]
    fn null_means_absent() {
        let fields = json(r#"{"chat":null,"cursor":null}"#);
        assert_eq!(fields.string("chat").unwrap(), None);
        assert_eq!(fields.integer::<i64>("cursor").unwrap(), None);
    }

    #[test]
    fn the_same_key_twice_is_ambiguous() {
        let mut fields = Fields::default();
        assert!(
            fields
                .insert_all(json_pairs(br#"{"chat":"a:b","Chat":"c:d"}"#).unwrap())
                .is_err()
        );
    }

    #[test]
    fn a_json_body_must_be_an_object() {
        assert!(json_pairs(b"[1,2]").is_err());
        assert!(json_pairs(b"{\"chat\":").is_err());
    }
}
