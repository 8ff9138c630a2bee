//! The two ways in: the HTTP API, or the Thrift API of one rpc-server.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use im_idl::{
    ChatsRequest, ImServiceClient, ImServiceClientBuilder, Message, PullRequest, SendRequest,
};
use serde_json::{Value, json};

use crate::tokens::Tokens;

#[derive(Clone)]
pub enum Api {
    Http {
        client: reqwest::Client,
        base: String,
        /// Some when the server wants a bearer token for the member a request acts as.
        tokens: Option<Arc<Tokens>>,
    },
    Thrift(ImServiceClient),
}

pub struct Page {
    pub messages: Vec<(i64, String)>,
    pub has_more: bool,
    pub next_cursor: i64,
}

/// One answer of a member's inbox: the rooms that changed, in version order. A listing with
/// more beyond it answers the next call at once, so `has_more` needs no reading.
pub struct Listing {
    pub chats: Vec<String>,
    pub next_cursor: i64,
}

impl Api {
    pub fn http(base: &str, tokens: Option<Arc<Tokens>>) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(base).context("--http must be a URL")?;
        let host = url.host_str().context("--http needs a host")?;
        ensure_loopback(&format!(
            "{host}:{}",
            url.port_or_known_default().unwrap_or(80)
        ))?;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            // Long enough for the longest wait_ms (30 s).
            .timeout(Duration::from_secs(40))
            .build()?;
        Ok(Self::Http {
            client,
            base: base.trim_end_matches('/').to_owned(),
            tokens,
        })
    }

    pub fn thrift(addr: &str) -> anyhow::Result<Self> {
        let addr = ensure_loopback(addr)?;
        Ok(Self::Thrift(
            ImServiceClientBuilder::new("im-rpc").address(addr).build(),
        ))
    }

    /// Returns the send_time, or the kind of failure.
    pub async fn send(
        &self,
        chat: &str,
        sender: &str,
        text: &str,
        client_msg_id: Option<&str>,
    ) -> Result<i64, String> {
        match self {
            Self::Http {
                client,
                base,
                tokens,
            } => {
                let mut body = json!({ "chat": chat, "sender": sender, "text": text });
                if let Some(id) = client_msg_id {
                    body["client_msg_id"] = json!(id);
                }
                let req = client.post(format!("{base}/api/send")).json(&body);
                let reply = http_call(as_member(req, tokens, sender)).await?;
                reply["message"]["send_time"]
                    .as_i64()
                    .ok_or_else(|| "reply without send_time".to_owned())
            }
            Self::Thrift(client) => {
                let message = Message {
                    chat: Some(chat.to_owned().into()),
                    text: Some(text.to_owned().into()),
                    sender: Some(sender.to_owned().into()),
                    send_time: None,
                    client_msg_id: client_msg_id.map(|id| id.to_owned().into()),
                };
                let resp = client
                    .send(SendRequest { message })
                    .await
                    .map_err(|e| format!("thrift {}", kind_of(&e.to_string())))?;
                if resp.code != 0 {
                    return Err(format!("code {}", resp.code));
                }
                resp.stored
                    .and_then(|m| m.send_time)
                    .ok_or_else(|| "reply without send_time".to_owned())
            }
        }
    }

    /// A pull; `wait_ms` above 0 makes a forward pull whose page is empty wait that long.
    pub async fn pull(
        &self,
        chat: &str,
        cursor: i64,
        limit: i32,
        reverse: bool,
        wait_ms: i32,
    ) -> Result<Page, String> {
        match self {
            Self::Http {
                client,
                base,
                tokens,
            } => {
                let url = format!(
                    "{base}/api/pull?chat={chat}&cursor={cursor}&limit={limit}&reverse={reverse}&wait_ms={wait_ms}"
                );
                let reader = chat.split(':').next().unwrap_or_default();
                let reply = http_call(as_member(client.get(url), tokens, reader)).await?;
                let messages = reply["messages"]
                    .as_array()
                    .ok_or("reply without messages")?
                    .iter()
                    .map(|m| {
                        (
                            m["send_time"].as_i64().unwrap_or_default(),
                            m["text"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                Ok(Page {
                    messages,
                    has_more: reply["has_more"].as_bool().unwrap_or_default(),
                    next_cursor: reply["next_cursor"].as_i64().unwrap_or_default(),
                })
            }
            Self::Thrift(client) => {
                let req = PullRequest {
                    chat: chat.to_owned().into(),
                    cursor,
                    limit,
                    reverse: Some(reverse),
                    wait_ms: (wait_ms > 0).then_some(wait_ms),
                };
                let resp = client
                    .pull(req)
                    .await
                    .map_err(|e| format!("thrift {}", kind_of(&e.to_string())))?;
                if resp.code != 0 {
                    return Err(format!("code {}", resp.code));
                }
                Ok(Page {
                    messages: resp
                        .messages
                        .unwrap_or_default()
                        .into_iter()
                        .map(|m| {
                            (
                                m.send_time.unwrap_or_default(),
                                m.text.unwrap_or_default().to_string(),
                            )
                        })
                        .collect(),
                    has_more: resp.has_more.unwrap_or_default(),
                    next_cursor: resp.next_cursor.unwrap_or_default(),
                })
            }
        }
    }
}

impl Api {
    /// A forward inbox listing; `wait_ms` above 0 makes an empty one wait that long.
    pub async fn chats(&self, member: &str, cursor: i64, wait_ms: i32) -> Result<Listing, String> {
        match self {
            Self::Http {
                client,
                base,
                tokens,
            } => {
                let url = format!(
                    "{base}/api/chats?member={member}&cursor={cursor}&limit=100&wait_ms={wait_ms}"
                );
                let reply = http_call(as_member(client.get(url), tokens, member)).await?;
                let chats = reply["chats"]
                    .as_array()
                    .ok_or("reply without chats")?
                    .iter()
                    .map(|c| c["chat"].as_str().unwrap_or_default().to_owned())
                    .collect();
                Ok(Listing {
                    chats,
                    next_cursor: reply["next_cursor"].as_i64().unwrap_or_default(),
                })
            }
            Self::Thrift(client) => {
                let req = ChatsRequest {
                    member: member.to_owned().into(),
                    cursor: Some(cursor),
                    limit: Some(100),
                    reverse: None,
                    wait_ms: (wait_ms > 0).then_some(wait_ms),
                };
                let resp = client
                    .chats(req)
                    .await
                    .map_err(|e| format!("thrift {}", kind_of(&e.to_string())))?;
                if resp.code != 0 {
                    return Err(format!("code {}", resp.code));
                }
                Ok(Listing {
                    chats: resp
                        .chats
                        .unwrap_or_default()
                        .into_iter()
                        .map(|c| c.chat.to_string())
                        .collect(),
                    next_cursor: resp.next_cursor.unwrap_or_default(),
                })
            }
        }
    }
}

/// `req` with the bearer token of `member`, when the run has tokens.
fn as_member(
    req: reqwest::RequestBuilder,
    tokens: &Option<Arc<Tokens>>,
    member: &str,
) -> reqwest::RequestBuilder {
    match tokens {
        Some(tokens) => req.bearer_auth(tokens.of(member)),
        None => req,
    }
}

async fn http_call(req: reqwest::RequestBuilder) -> Result<Value, String> {
    let resp = req.send().await.map_err(|e| {
        if e.is_timeout() {
            "timeout".to_owned()
        } else if e.is_connect() {
            "connect".to_owned()
        } else {
            "transport".to_owned()
        }
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("http {}", status.as_u16()));
    }
    resp.json().await.map_err(|_| "unreadable reply".to_owned())
}

/// A short, bounded label for an error message.
fn kind_of(msg: &str) -> &'static str {
    if msg.contains("timeout") || msg.contains("timed out") {
        "timeout"
    } else if msg.contains("load balance") || msg.contains("refused") {
        "unreachable"
    } else {
        "error"
    }
}

/// Load goes to this machine only: every address the target resolves to must be loopback.
fn ensure_loopback(target: &str) -> anyhow::Result<SocketAddr> {
    let addrs: Vec<SocketAddr> = target
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {target}"))?
        .collect();
    match addrs.first() {
        Some(first) if addrs.iter().all(|a| a.ip().is_loopback()) => Ok(*first),
        _ => bail!("refusing to send load to {target}: only loopback addresses are allowed"),
    }
}
