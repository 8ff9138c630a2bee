//! The one client of the servers that every test uses: the HTTP API through [`Api`], and the
//! Thrift `IMService` through [`thrift`].

use std::net::SocketAddr;

use im_idl::{ImServiceClient, ImServiceClientBuilder, SendRequest};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// The HTTP API of one http-server. Answers come as their status and JSON body (every answer of
/// the API is JSON), which tests assert as clients see them.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("http://{addr}"),
        }
    }

    /// A client whose every request carries `Authorization: Bearer <token>`.
    pub fn with_token(addr: SocketAddr, token: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = format!("Bearer {token}").parse().expect("a header value");
        headers.insert(reqwest::header::AUTHORIZATION, value);
        Self {
            http: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .expect("an HTTP client"),
            base: format!("http://{addr}"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The underlying client, for requests a test shapes itself (headers, methods, raw bodies).
    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `req`: its status, JSON body and `Retry-After`; an error when the server could not
    /// be reached or did not answer JSON.
    pub async fn try_answer(
        &self,
        req: RequestBuilder,
    ) -> Result<(StatusCode, Value, Option<String>), String> {
        let resp = req.send().await.map_err(|err| err.to_string())?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = resp.json().await.map_err(|err| err.to_string())?;
        Ok((status, body, retry_after))
    }

    /// Sends `req`; the server must answer.
    pub async fn call(&self, req: RequestBuilder) -> (StatusCode, Value) {
        let (status, body, _) = self
            .try_answer(req)
            .await
            .expect("the http-server answers JSON");
        (status, body)
    }

    /// `POST /api/send` with this JSON body.
    pub async fn send(&self, body: Value) -> (StatusCode, Value) {
        self.call(self.http.post(self.url("/api/send")).json(&body))
            .await
    }

    /// Sends `text` into `chat` from `sender`; it must be stored. The stored message.
    pub async fn send_ok(&self, chat: &str, sender: &str, text: &str) -> Value {
        let (status, body) = self
            .send(json!({ "chat": chat, "sender": sender, "text": text }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["message"].clone()
    }

    /// `GET /api/pull?{query}`.
    pub async fn pull(&self, query: &str) -> (StatusCode, Value) {
        self.call(self.http.get(self.url(&format!("/api/pull?{query}"))))
            .await
    }

    /// `GET /api/pull?{query}`, which must be answered 200.
    pub async fn pull_ok(&self, query: &str) -> Value {
        let (status, body) = self.pull(query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// `POST /api/read` with this JSON body.
    pub async fn read(&self, body: Value) -> (StatusCode, Value) {
        self.call(self.http.post(self.url("/api/read")).json(&body))
            .await
    }

    /// `GET /api/chats?{query}`.
    pub async fn chats(&self, query: &str) -> (StatusCode, Value) {
        self.call(self.http.get(self.url(&format!("/api/chats?{query}"))))
            .await
    }

    /// Every message of `chat`, oldest first, paging forward with `next_cursor`.
    pub async fn all_messages(&self, chat: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor = 0;
        loop {
            let page = self
                .pull_ok(&format!("chat={chat}&limit=100&cursor={cursor}"))
                .await;
            all.extend(messages(&page).cloned());
            if page["has_more"] != true {
                return all;
            }
            cursor = page["next_cursor"].as_i64().expect("next_cursor");
        }
    }

    /// The texts of every message of `chat`, oldest first.
    pub async fn all_texts(&self, chat: &str) -> Vec<String> {
        let all = self.all_messages(chat).await;
        all.iter()
            .map(|m| m["text"].as_str().expect("text").to_owned())
            .collect()
    }
}

/// The texts of a page's messages.
pub fn texts(page: &Value) -> Vec<String> {
    messages(page)
        .map(|m| m["text"].as_str().expect("text").to_owned())
        .collect()
}

/// The send_times of a page's messages.
pub fn send_times(page: &Value) -> Vec<i64> {
    messages(page)
        .map(|m| m["send_time"].as_i64().expect("send_time"))
        .collect()
}

fn messages(page: &Value) -> impl Iterator<Item = &Value> {
    page["messages"]
        .as_array()
        .expect("messages is an array")
        .iter()
}

/// An error answer: `expected`, a non-zero `code` and a message saying what was wrong.
pub fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, what: &str) {
    assert_eq!(status, expected, "{what}: {body}");
    let code = body["code"].as_i64();
    assert!(code.is_some_and(|c| c != 0), "{what}: {body}");
    let msg = body["msg"].as_str();
    assert!(msg.is_some_and(|m| !m.is_empty()), "{what}: {body}");
}

/// A Thrift client of one rpc-server.
pub fn thrift(addr: SocketAddr) -> ImServiceClient {
    ImServiceClientBuilder::new("im-rpc").address(addr).build()
}

/// A Thrift send of `text` into `chat` from `sender`, without a client_msg_id.
pub fn thrift_send_request(chat: &str, sender: &str, text: &str) -> SendRequest {
    SendRequest {
        message: im_idl::Message {
            chat: Some(chat.to_owned().into()),
            text: Some(text.to_owned().into()),
            sender: Some(sender.to_owned().into()),
            send_time: None,
            client_msg_id: None,
        },
    }
}

/// Sends over Thrift to the rpc-server at `addr`; it must be stored.
pub async fn thrift_send(addr: SocketAddr, chat: &str, sender: &str, text: &str) {
    let sent = thrift(addr)
        .send(thrift_send_request(chat, sender, text))
        .await
        .expect("the rpc-server answers");
    assert_eq!(sent.code, 0, "{}", sent.msg);
}
