//! The web messenger: the files of `web/`, compiled into the binary and served at `/` with the
//! headers the page's safety rests on (no inline script, no other origin, no framing), cached
//! by ETag and gzip-compressed where that makes them smaller.

use std::collections::HashMap;
use std::io::Write;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use rust_embed::Embed;
use volo_http::body::Body;
use volo_http::response::Response;

#[derive(Embed)]
#[folder = "../web/"]
struct Files;

/// Scripts, styles and connections from this origin only; nothing inline, no frames.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'self'; object-src 'none'";

struct Asset {
    body: Bytes,
    gzip: Option<Bytes>,
    content_type: HeaderValue,
    etag: HeaderValue,
}

pub struct Web {
    assets: HashMap<String, Asset>,
}

impl Web {
    /// Every file, compressed once at start.
    pub fn load() -> Self {
        let assets = Files::iter()
            .filter_map(|path| {
                let file = Files::get(&path)?;
                let body = Bytes::from(file.data.into_owned());
                let mime = file.metadata.mimetype();
                let content_type = if mime.starts_with("text/") || mime.ends_with("javascript") {
                    format!("{mime}; charset=utf-8")
                } else {
                    mime.to_owned()
                };
                let hash = file.metadata.sha256_hash();
                let etag = format!(
                    "\"{}\"",
                    hash[..12]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                );
                let asset = Asset {
                    gzip: gzip(&body).filter(|small| small.len() < body.len()),
                    body,
                    content_type: HeaderValue::from_str(&content_type).ok()?,
                    etag: HeaderValue::from_str(&etag).ok()?,
                };
                Some((format!("/{path}"), asset))
            })
            .collect();
        Self { assets }
    }

    /// The file at `path` (`/` is `index.html`) for a GET or HEAD; None when there is none.
    pub fn serve(&self, method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let asset = self
            .assets
            .get(if path == "/" { "/index.html" } else { path })?;
        let mut response = Response::new(Body::empty());
        let out = response.headers_mut();
        out.insert(header::ETAG, asset.etag.clone());
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        out.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        out.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        if headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .any(|tag| tag.as_bytes() == asset.etag.as_bytes() || tag.as_bytes() == b"*")
        {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            return Some(response);
        }
        out.insert(header::CONTENT_TYPE, asset.content_type.clone());
        let body = match &asset.gzip {
            Some(gzip) if accepts_gzip(headers) => {
                out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                gzip.clone()
            }
            _ => asset.body.clone(),
        };
        out.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        if method == Method::GET {
            *response.body_mut() = Body::from(body);
        }
        Some(response)
    }
}

fn gzip(data: &[u8]) -> Option<Bytes> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

/// Whether `Accept-Encoding` takes gzip (and does not refuse it with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encodings(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_take_it() {
        assert!(accepts_gzip(&encodings("gzip, deflate, br")));
        assert!(accepts_gzip(&encodings("br;q=1.0, gzip;q=0.8")));
        assert!(!accepts_gzip(&encodings("gzip;q=0, br")));
        assert!(!accepts_gzip(&encodings("gzip;q=0.000")));
        assert!(!accepts_gzip(&encodings("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
