//! Bytes a well-behaved client never sends, arriving concurrently with valid calls of others:
//! each bad call gets its own Code 1, and every valid call next to it succeeds.

use im_idl::lenient::{ImServiceClientBuilder, Message, PullRequest, SendRequest};
use im_testkit::{fresh_database_url, start_rpc_server};
use pilota::Bytes;

fn message(chat: &[u8], sender: &[u8], text: &[u8]) -> SendRequest {
    SendRequest {
        message: Some(Message {
            chat: Some(Bytes::copy_from_slice(chat)),
            sender: Some(Bytes::copy_from_slice(sender)),
            text: Some(Bytes::copy_from_slice(text)),
            send_time: None,
            client_msg_id: None,
        }),
    }
}

#[tokio::test]
async fn invalid_utf8_sends_interleaved_with_valid_ones_fail_alone() {
    let server = start_rpc_server(&fresh_database_url());
    let client = ImServiceClientBuilder::new("im-rpc")
        .address(server.addr)
        .build();
    let calls = (0..300).map(|i| {
        let client = client.clone();
        async move {
            let bad = i % 3 == 0;
            let text = format!("valid {i}");
            let req = if bad {
                // Invalid UTF-8 in a different field each time.
                match i % 9 {
                    0 => message(b"al:b\xffob", b"al", text.as_bytes()),
                    3 => message(b"al:bob", b"a\xc3l", text.as_bytes()),
                    _ => message(b"al:bob", b"al", b"caf\xe9"),
                }
            } else {
                message(b"al:bob", b"al", text.as_bytes())
            };
            (
                bad,
                client
                    .send(req)
                    .await
                    .expect("an answer, not a transport error"),
            )
        }
    });
    let answers = futures::future::join_all(calls).await;
    for (bad, resp) in &answers {
        if *bad {
            assert_eq!(resp.code, 1, "{resp:?}");
            assert!(
                String::from_utf8_lossy(&resp.msg).ends_with("is not valid UTF-8"),
                "{resp:?}"
            );
        } else {
            assert_eq!(resp.code, 0, "{resp:?}");
        }
    }
    let page = client
        .pull(PullRequest {
            chat: Some(Bytes::from_static(b"al:bob")),
            cursor: Some(0),
            limit: Some(100),
            reverse: Some(true),
            wait_ms: None,
        })
        .await
        .unwrap();
    assert_eq!(page.code, 0);
    assert_eq!(page.messages.unwrap().len(), 100);
    assert!(page.has_more.unwrap());
}

#[tokio::test]
async fn any_rpc_timeout_a_caller_sends_gets_answers() {
    let server = start_rpc_server(&fresh_database_url());
    // Zero (none, as in Kitex), 1 ms (the server still gives the call its least budget,
    // 100 ms), and the largest a TTHeader carries.
    for timeout in [0, 1, u64::MAX] {
        let client = ImServiceClientBuilder::new("im-rpc")
            .address(server.addr)
            .rpc_timeout(Some(std::time::Duration::from_millis(timeout)))
            // Sent, not enforced here: the answer is what counts.
            .disable_timeout_layer()
            .build();
        let text = format!("timeout {timeout}");
        let sent = client
            .send(message(b"al:bob", b"al", text.as_bytes()))
            .await
            .expect("an answer, not a transport error");
        let pulled = client
            .pull(PullRequest {
                chat: Some(Bytes::from_static(b"al:bob")),
                cursor: Some(0),
                limit: Some(100),
                reverse: None,
                wait_ms: None,
            })
            .await
            .expect("an answer, not a transport error");
        // 1 ms: answered, or, on a machine too busy to commit within 100 ms, "unavailable" (a
        // pull, or a send left out) or "outcome unknown" (a send whose commit was under way).
        let (sends, pulls): (&[i32], &[i32]) = if timeout == 1 {
            (&[0, 2, 10], &[0, 2])
        } else {
            (&[0], &[0])
        };
        assert!(sends.contains(&sent.code), "{timeout}: {sent:?}");
        assert!(pulls.contains(&pulled.code), "{timeout}: {pulled:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_allows_itself_no_time_fails_no_send_of_others() {
    let server = start_rpc_server(&fresh_database_url());
    let hurried = ImServiceClientBuilder::new("im-rpc")
        .address(server.addr)
        .rpc_timeout(Some(std::time::Duration::from_millis(1)))
        .disable_timeout_layer()
        .build();
    let patient = ImServiceClientBuilder::new("im-rpc")
        .address(server.addr)
        .build();
    // One room: every send goes to the same lane, so the two callers' sends share groups.
    let calls = (0..400).map(|i| {
        let client = if i % 2 == 0 { &hurried } else { &patient };
        async move {
            let text = format!("m{i}");
            let resp = client
                .send(message(b"al:bob", b"al", text.as_bytes()))
                .await
                .expect("an answer, not a transport error");
            (i % 2 == 0, resp)
        }
    });
    for (hurried, resp) in futures::future::join_all(calls).await {
        if hurried {
            assert!([0, 2, 10].contains(&resp.code), "{resp:?}");
        } else {
            assert_eq!(resp.code, 0, "{resp:?}");
        }
    }
}
