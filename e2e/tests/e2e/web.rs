//! The web messenger's files as a browser gets them: the page at `/` with its security headers,
//! revalidated by ETag, compressed for clients that take gzip, and gone when turned off.

use im_testkit::{Stack, assert_error};
use reqwest::StatusCode;

#[tokio::test]
async fn the_page_is_served_with_its_security_headers_and_cached_by_etag() {
    let stack = Stack::start(1);
    let api = stack.api();
    let page = api.client().get(api.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let csp = headers["content-security-policy"].to_str().unwrap();
    for rule in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "default-src 'self'",
    ] {
        assert!(csp.contains(rule), "{csp}");
    }
    assert!(page.text().await.unwrap().contains("/js/main.js"));

    let etag = headers["etag"].clone();
    let again = api
        .client()
        .get(api.url("/"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());

    let script = api
        .client()
        .get(api.url("/js/main.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    let content_type = script.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.contains("javascript") && content_type.ends_with("charset=utf-8"),
        "{content_type}"
    );
}

#[tokio::test]
async fn files_are_gzipped_for_clients_that_take_it_and_head_sends_no_body() {
    let stack = Stack::start(1);
    let api = stack.api();
    let plain = api.client().get(api.url("/app.css")).send().await.unwrap();
    let plain_length = plain.bytes().await.unwrap().len();
    let gzipped = api
        .client()
        .get(api.url("/app.css"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let body = gzipped.bytes().await.unwrap();
    assert!(body.starts_with(&[0x1f, 0x8b]) && body.len() < plain_length);

    let head = api.client().head(api.url("/")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.bytes().await.unwrap().is_empty());
    // Anything else is the API's JSON 404, as before.
    let (status, body) = api
        .call(api.client().get(api.url("/no/such/file.js")))
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "an unknown file");
}

#[tokio::test]
async fn with_the_page_turned_off_slash_is_a_404() {
    let stack = Stack::start_with(1, &[("IM_WEB", "false".to_owned())]);
    let api = stack.api();
    let (status, body) = api.call(api.client().get(api.url("/"))).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "the page turned off");
}
