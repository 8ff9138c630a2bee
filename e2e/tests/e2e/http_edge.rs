//! The HTTP edge when things go wrong: no replica reachable or one that never answers, more
//! requests than the server takes at once, an rpc-server restarted or stopped, and clients that
//! trickle bodies, leave headers half sent, idle, or open too many connections.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use im_testkit::{Api, Stack, free_port, start_http_server, start_rpc_server};
use reqwest::{Client, StatusCode};
use serde_json::json;

/// How long a test waits for something that must happen eventually.
const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn no_reachable_backend_is_503() {
    let nobody: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let http = start_http_server(vec![nobody], &[]);
    let api = Api::new(http.addr);
    let body = json!({ "chat": "al:bob", "sender": "al", "text": "hi" });
    let send = api.client().post(api.url("/api/send")).json(&body);
    let (status, body, retry_after) = api.try_answer(send).await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(body["code"], 2);
}

#[tokio::test]
async fn over_the_in_flight_limit_requests_get_503_with_retry_after_at_once() {
    // A backend that never answers keeps the one permitted request in progress.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let http = start_http_server(
        vec![silent.local_addr().unwrap()],
        &[
            ("IM_HTTP_MAX_IN_FLIGHT", "1".to_owned()),
            ("IM_RPC_TIMEOUT_MS", "3000".to_owned()),
        ],
    );
    let api = Api::new(http.addr);
    let pull = || api.try_answer(api.client().get(api.url("/api/pull?chat=al:bob")));
    // Two requests at once: the first to arrive holds the only permit for the whole RPC
    // timeout, so the other is refused at once.
    let (a, b) = tokio::join!(pull(), pull());
    let (a, b) = (a.unwrap(), b.unwrap());
    let (shed, held) = if a.0 == StatusCode::SERVICE_UNAVAILABLE {
        (a, b)
    } else {
        (b, a)
    };
    let (status, body, retry_after) = shed;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(held.0, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["code"], 2);
    assert!(
        body["msg"].as_str().unwrap().contains("overloaded"),
        "{body}"
    );
    // /ping is not an API route and is never shed.
    let (status, _) = api.call(api.client().get(api.url("/ping"))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_backend_that_never_answers_is_504() {
    // Accepts connections and never replies.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let http = start_http_server(
        vec![silent.local_addr().unwrap()],
        &[("IM_RPC_TIMEOUT_MS", "300".to_owned())],
    );
    let (status, body) = Api::new(http.addr).pull("chat=al:bob").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["code"], 4);
}

#[tokio::test]
async fn restarting_the_rpc_server_loses_no_acknowledged_message() {
    let mut stack = Stack::start(1);
    let before = stack.api().send_ok("al:bob", "al", "acknowledged").await;
    // Killed without a chance to flush anything.
    let replacement = start_rpc_server(&stack.database_url);
    drop(std::mem::replace(&mut stack.replicas[0], replacement));
    stack.http = start_http_server(vec![stack.replicas[0].addr], &[]);
    let page = stack.api().pull_ok("chat=al:bob").await;
    assert_eq!(page["messages"], json!([before]));
}

#[tokio::test]
async fn both_servers_exit_cleanly_on_sigterm() {
    let stack = Stack::start(1);
    stack.api().send_ok("al:bob", "al", "before shutdown").await;
    let Stack { replicas, http, .. } = stack;
    assert!(http.terminate(), "http-server exits 0");
    for replica in replicas {
        assert!(replica.terminate(), "rpc-server exits 0");
    }
}

#[tokio::test]
async fn a_trickling_body_holds_no_permit_and_gets_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let database_url = im_testkit::fresh_database_url();
    let rpc = start_rpc_server(&database_url);
    let http = start_http_server(
        vec![rpc.addr],
        &[
            ("IM_HTTP_MAX_IN_FLIGHT", "1".to_owned()),
            ("IM_HTTP_BODY_TIMEOUT_MS", "1000".to_owned()),
        ],
    );
    // Headers promise a body of 100 bytes; only 10 arrive.
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut conn = tokio::net::TcpStream::connect(http.addr).await.unwrap();
        conn.write_all(
            b"POST /api/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"chat\":",
        )
        .await
        .unwrap();
        slow.push(conn);
    }
    // With one permit and three bodies in progress, a whole request is still served.
    let (status, body) = Api::new(http.addr)
        .send(json!({ "chat": "al:bob", "sender": "al", "text": "not blocked" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The slow ones are answered 408 and closed once the body deadline passes.
    for mut conn in slow {
        let mut answer = String::new();
        conn.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"code\":8"), "{answer}");
    }
}

/// Reads from `conn` until the server closes it; returns what arrived.
async fn read_until_closed(conn: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    // An error (a reset) is a close too.
    let _ = conn.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Sends a whole `GET /ping` on `conn` and reads its answer, leaving the connection open.
async fn ping_on(conn: &mut tokio::net::TcpStream) {
    assert!(pinged(conn).await, "closed before the answer");
}

/// Whether `GET /ping` sent on `conn` is answered (not refused and closed).
async fn pinged(conn: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if conn
        .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !String::from_utf8_lossy(&answer).ends_with("{\"message\":\"pong\"}") {
        match conn.read(&mut chunk).await {
            Ok(n) if n > 0 => answer.extend_from_slice(&chunk[..n]),
            _ => return false,
        }
    }
    true
}

#[tokio::test]
async fn half_sent_headers_and_idle_connections_are_closed() {
    use tokio::io::AsyncWriteExt;

    let http = start_http_server(
        vec![([127, 0, 0, 1], free_port()).into()],
        &[("IM_HTTP_HEADER_TIMEOUT_MS", "500".to_owned())],
    );
    let mut half_sent = Vec::new();
    for _ in 0..3 {
        let mut conn = tokio::net::TcpStream::connect(http.addr).await.unwrap();
        conn.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        half_sent.push(conn);
    }
    let mut idle = tokio::net::TcpStream::connect(http.addr).await.unwrap();
    ping_on(&mut idle).await;
    // Others are served meanwhile.
    let ping = Client::new()
        .get(format!("http://{}/ping", http.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), StatusCode::OK);
    // The server closes the half-sent ones and the idle one once the header deadline passes.
    for mut conn in half_sent {
        let answer = read_until_closed(&mut conn).await;
        assert!(!answer.contains("pong"), "{answer}");
    }
    assert_eq!(read_until_closed(&mut idle).await, "");
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_with_503_and_closed() {
    let http = start_http_server(
        vec![([127, 0, 0, 1], free_port()).into()],
        &[("IM_HTTP_MAX_CONNECTIONS", "2".to_owned())],
    );
    // The connection of the start's health check may hold a place a moment longer: wait until
    // two connections are served at once.
    let served = std::sync::Mutex::new(None);
    im_testkit::eventually("two connections served", PATIENCE, || async {
        let connect = || tokio::net::TcpStream::connect(http.addr);
        let (mut first, mut second) = (connect().await.unwrap(), connect().await.unwrap());
        let both = pinged(&mut first).await && pinged(&mut second).await;
        if both {
            *served.lock().unwrap() = Some((first, second));
        }
        both
    })
    .await;
    let (mut first, second) = served
        .into_inner()
        .unwrap()
        .expect("two served connections");
    let mut third = tokio::net::TcpStream::connect(http.addr).await.unwrap();
    let refusal = read_until_closed(&mut third).await;
    assert!(
        refusal.starts_with("HTTP/1.1 503 ") && refusal.contains("retry-after: 1\r\n"),
        "{refusal}"
    );
    let (_, body) = refusal.split_once("\r\n\r\n").unwrap();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["code"], 2, "{body}");
    assert!(
        body["msg"].as_str().unwrap().contains("connections"),
        "{body}"
    );
    // The two served connections still work, and once one leaves a new one is served.
    ping_on(&mut first).await;
    drop(second);
    im_testkit::eventually("a freed slot serves a new connection", PATIENCE, || async {
        Client::new()
            .get(format!("http://{}/ping", http.addr))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
}
