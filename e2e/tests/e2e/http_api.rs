//! The HTTP API end to end: the real http-server and rpc-server binaries on a fresh MariaDB
//! database, spoken to the way curl and the reference clients speak.

use im_testkit::{Stack, assert_error, send_times, texts};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn ping_answers_pong() {
    let stack = Stack::start(1);
    let api = stack.api();
    let (status, body) = api.call(api.client().get(api.url("/ping"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "message": "pong" }));
}

#[tokio::test]
async fn send_accepts_json_form_and_query_and_returns_the_stored_message() {
    let stack = Stack::start(1);
    let api = stack.api();
    let from_json = api.send_ok("bob:al", "al", "json").await;
    assert_eq!(from_json["chat"], "al:bob");
    assert_eq!(from_json["sender"], "al");
    assert_eq!(from_json["text"], "json");
    assert!(
        from_json["send_time"].as_i64().unwrap() > 1_600_000_000_000_000,
        "microseconds"
    );

    let (status, from_form) = api
        .call(
            api.client()
                .post(api.url("/api/send"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("chat=al%3Abob&sender=bob&text=form+body"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{from_form}");
    let (status, from_query) = api
        .call(
            api.client()
                .post(api.url("/api/send?chat=al:bob&sender=al&text=in%20the%20query")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{from_query}");

    let page = api.pull_ok("chat=al:bob").await;
    assert_eq!(texts(&page), ["json", "form body", "in the query"]);
    assert_eq!(page["messages"][0], from_json);
}

#[tokio::test]
async fn reference_clients_shapes_work_with_capitalised_keys() {
    let stack = Stack::start(1);
    let api = stack.api();
    let (status, body) = api
        .send(json!({ "Chat": "al:bob", "Text": "hello", "Sender": "bob" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // GET with a JSON body, as the reference clients send it.
    let (status, page) = api
        .call(
            api.client()
                .request(Method::GET, api.url("/api/pull"))
                .json(&json!({ "Chat": "bob:al", "Cursor": 0, "Limit": 5, "Reverse": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(texts(&page), ["hello"]);
    assert_eq!(page["messages"][0]["chat"], "al:bob");
}

#[tokio::test]
async fn an_empty_room_returns_all_three_fields() {
    let stack = Stack::start(1);
    let api = stack.api();
    let page = api.pull_ok("chat=al:bob&cursor=42").await;
    assert_eq!(
        page,
        json!({ "messages": [], "has_more": false, "next_cursor": 42 })
    );
    let reverse = api.pull_ok("chat=al:bob&reverse=true").await;
    assert_eq!(
        reverse,
        json!({ "messages": [], "has_more": false, "next_cursor": 0 })
    );
}

#[tokio::test]
async fn paging_with_next_cursor_never_repeats_or_skips() {
    let stack = Stack::start(1);
    let api = stack.api();
    let mut sent = Vec::new();
    for i in 0..23 {
        let msg = api
            .send_ok(
                "al:bob",
                if i % 2 == 0 { "al" } else { "bob" },
                &format!("m{i}"),
            )
            .await;
        sent.push(msg["send_time"].as_i64().unwrap());
    }
    assert!(sent.windows(2).all(|w| w[0] < w[1]), "send_time increases");

    for reverse in [false, true] {
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            let page = api
                .pull_ok(&format!(
                    "chat=bob:al&limit=5&cursor={cursor}&reverse={reverse}"
                ))
                .await;
            seen.extend(send_times(&page));
            if !page["has_more"].as_bool().unwrap() {
                let expected_end = if reverse { 0 } else { sent.last().unwrap() + 1 };
                assert_eq!(page["next_cursor"], expected_end);
                break;
            }
            cursor = page["next_cursor"].as_i64().unwrap();
        }
        let mut expected = sent.clone();
        if reverse {
            expected.reverse();
        }
        assert_eq!(seen, expected, "reverse={reverse}");
    }
}

#[tokio::test]
async fn a_poller_with_next_cursor_gets_exactly_the_new_messages() {
    let stack = Stack::start(1);
    let api = stack.api();
    api.send_ok("al:bob", "al", "before").await;
    let first = api.pull_ok("chat=al:bob").await;
    let cursor = first["next_cursor"].as_i64().unwrap();
    api.send_ok("al:bob", "bob", "after 1").await;
    api.send_ok("al:bob", "al", "after 2").await;
    let next = api.pull_ok(&format!("chat=al:bob&cursor={cursor}")).await;
    assert_eq!(texts(&next), ["after 1", "after 2"]);
    let cursor = next["next_cursor"].as_i64().unwrap();
    let idle = api.pull_ok(&format!("chat=al:bob&cursor={cursor}")).await;
    assert_eq!(texts(&idle), Vec::<String>::new());
    assert_eq!(idle["next_cursor"], cursor);
}

#[tokio::test]
async fn limit_defaults_to_10_and_is_clamped_to_100() {
    let stack = Stack::start(1);
    let api = stack.api();
    let mut times = Vec::new();
    for i in 0..102 {
        times.push(
            api.send_ok("al:bob", "al", &format!("m{i}")).await["send_time"]
                .as_i64()
                .unwrap(),
        );
    }
    let default = api.pull_ok("chat=al:bob").await;
    assert_eq!(send_times(&default), times[..10]);
    assert_eq!(default["has_more"], true);
    assert_eq!(default["next_cursor"], times[10]);

    let zero = api.pull_ok("chat=al:bob&limit=0").await;
    assert_eq!(send_times(&zero).len(), 10);

    let clamped = api.pull_ok("chat=al:bob&limit=1000").await;
    assert_eq!(send_times(&clamped), times[..100]);
    assert_eq!(clamped["has_more"], true);
    assert_eq!(clamped["next_cursor"], times[100]);
}

#[tokio::test]
async fn reverse_from_zero_starts_with_the_newest() {
    let stack = Stack::start(1);
    let api = stack.api();
    for i in 0..3 {
        api.send_ok("al:bob", "al", &format!("m{i}")).await;
    }
    let page = api.pull_ok("chat=al:bob&reverse=true&limit=2").await;
    assert_eq!(texts(&page), ["m2", "m1"]);
    assert_eq!(page["has_more"], true);
}

#[tokio::test]
async fn any_text_comes_back_byte_identical() {
    let stack = Stack::start(1);
    let api = stack.api();
    let samples = [
        "emoji 😀👨‍👩‍👧 CJK 你好世界 RTL مرحبا שלום",
        "quotes \" ' ` backslashes \\ \\\\ \\n and a real\nnewline\ttab",
        "<script>alert(1)</script> '; DROP TABLE messages; --",
        "  spaces around  ",
        "\u{feff}\u{200b}zero width",
    ];
    for text in samples {
        api.send_ok("zoë:Ünï", "zoë", text).await;
    }
    let page = api.pull_ok("chat=%C3%9Cn%C3%AF:zo%C3%AB").await;
    assert_eq!(texts(&page), samples);

    let longest = "😀".repeat(4096);
    let stored = api.send_ok("zoë:Ünï", "Ünï", &longest).await;
    assert_eq!(stored["text"], longest.as_str());
}

#[tokio::test]
async fn members_are_case_sensitive_and_may_talk_to_themselves() {
    let stack = Stack::start(1);
    let api = stack.api();
    api.send_ok("Al:bob", "Al", "upper").await;
    api.send_ok("al:al", "al", "note to self").await;
    let (status, body) = api
        .send(json!({ "chat": "Al:bob", "sender": "al", "text": "x" }))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "al is not Al");
    assert_eq!(
        texts(&api.pull_ok("chat=al:bob").await),
        Vec::<String>::new()
    );
    assert_eq!(texts(&api.pull_ok("chat=bob:Al").await), ["upper"]);
    assert_eq!(texts(&api.pull_ok("chat=al:al").await), ["note to self"]);
}

#[tokio::test]
async fn bad_inputs_get_their_4xx_and_the_server_stays_healthy() {
    let stack = Stack::start(1);
    let api = stack.api();
    let long_member = "m".repeat(65);
    let too_long_text = "x".repeat(4097);
    let bad_sends = [
        (json!({ "sender": "al", "text": "hi" }), "missing chat"),
        (
            json!({ "chat": "al", "sender": "al", "text": "hi" }),
            "one member",
        ),
        (
            json!({ "chat": "al:bob:cy", "sender": "al", "text": "hi" }),
            "three members",
        ),
        (
            json!({ "chat": "al :bob", "sender": "al", "text": "hi" }),
            "space in member",
        ),
        (
            json!({ "chat": ":bob", "sender": "bob", "text": "hi" }),
            "empty member",
        ),
        (
            json!({ "chat": format!("{long_member}:bob"), "sender": "bob", "text": "hi" }),
            "65-byte member",
        ),
        (json!({ "chat": "al:bob", "text": "hi" }), "missing sender"),
        (
            json!({ "chat": "al:bob", "sender": "cy", "text": "hi" }),
            "sender not in chat",
        ),
        (json!({ "chat": "al:bob", "sender": "al" }), "missing text"),
        (
            json!({ "chat": "al:bob", "sender": "al", "text": "" }),
            "empty text",
        ),
        (
            json!({ "chat": "al:bob", "sender": "al", "text": " \n\t\u{3000}" }),
            "blank text",
        ),
        (
            json!({ "chat": "al:bob", "sender": "al", "text": too_long_text }),
            "4097 characters",
        ),
        (
            json!({ "chat": "al:bob", "sender": "al", "text": "a\u{0}b" }),
            "NUL in text",
        ),
        (
            json!({ "chat": "al:bob", "sender": "al", "text": 5 }),
            "text is a number",
        ),
        (
            json!({ "chat": ["al", "bob"], "sender": "al", "text": "hi" }),
            "chat is a list",
        ),
        (json!(["al:bob", "al", "hi"]), "body is not an object"),
    ];
    for (body, what) in bad_sends {
        let (status, reply) = api.send(body).await;
        assert_error(status, &reply, StatusCode::BAD_REQUEST, what);
    }

    let bad_pulls = [
        ("", "missing chat"),
        ("chat=al", "malformed chat"),
        ("chat=al:bob&cursor=-1", "negative cursor"),
        ("chat=al:bob&limit=-1", "negative limit"),
        ("chat=al:bob&limit=2147483648", "limit over i32"),
        ("chat=al:bob&cursor=soon", "cursor not a number"),
        ("chat=al:bob&reverse=maybe", "reverse not a bool"),
        ("chat=al:bob&chat=cy:dan", "chat given twice"),
    ];
    for (query, what) in bad_pulls {
        let (status, reply) = api.pull(query).await;
        assert_error(status, &reply, StatusCode::BAD_REQUEST, what);
    }

    let url = api.url("/api/send");
    let raw_cases = [
        (
            api.client()
                .post(&url)
                .header("content-type", "application/json")
                .body("{\"chat\":"),
            StatusCode::BAD_REQUEST,
            "malformed JSON",
        ),
        (
            api.client()
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("chat=al:bob&sender=al&text=%FF"),
            StatusCode::BAD_REQUEST,
            "form text not UTF-8",
        ),
        (
            api.client()
                .post(&url)
                .header("content-type", "application/json")
                .body(vec![b' '; 70_000]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "oversized body",
        ),
        (
            api.client()
                .post(&url)
                .header("content-type", "text/plain")
                .body("hi"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "text/plain body",
        ),
        (
            api.client().get(&url),
            StatusCode::METHOD_NOT_ALLOWED,
            "GET /api/send",
        ),
        (
            api.client().post(api.url("/api/pull")),
            StatusCode::METHOD_NOT_ALLOWED,
            "POST /api/pull",
        ),
        (
            api.client().delete(api.url("/ping")),
            StatusCode::METHOD_NOT_ALLOWED,
            "DELETE /ping",
        ),
        (
            api.client().get(api.url("/api/nothing")),
            StatusCode::NOT_FOUND,
            "unknown route",
        ),
        (
            api.client().get(api.url("/no-such-page.html")),
            StatusCode::NOT_FOUND,
            "a file the page does not have",
        ),
    ];
    for (req, expected, what) in raw_cases {
        let (status, reply) = api.call(req).await;
        assert_error(status, &reply, expected, what);
    }

    // Nothing above was stored, and the server still works.
    assert_eq!(api.pull_ok("chat=al:bob").await["messages"], json!([]));
    api.send_ok("al:bob", "al", "still here").await;
    assert_eq!(texts(&api.pull_ok("chat=al:bob").await), ["still here"]);
}
