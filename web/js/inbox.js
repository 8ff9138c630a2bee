// The inbox: the member's chats, newest message first, each with the other member, that
// message, its time and the server's count of unread messages (their sum is in the tab's
// title). One reverse listing fills it, then a loop of waiting forward listings keeps it current
// (no timer polls): each answer names the rooms that changed (a message, or a read marker moved
// on any device), and a room's entry replaces the older one of the same room.

import { $, avatar, el, formatTime, isoTime } from "./dom.js";
import { ApiError, describe, persist } from "./api.js";
import { memberProblem, otherMember, roomOf } from "./names.js";

const chatHref = (room) => `#/chat/${encodeURIComponent(room)}`;

// What an empty list says, by the state of the first listing: never "no chats" before the
// server has said so.
const PLACEHOLDER = {
  loading: "Loading…",
  unreachable: "Can't reach the server",
  ready: "No chats yet. Start one above.",
  failed: "",
};

export function mountInbox({ api, me, markers, status, signal, onSignedOut, onForbidden }) {
  const list = $("#inbox-list");
  const placeholder = $("#inbox-placeholder");
  const problem = $("#inbox-error");
  const entries = new Map(); // room -> {chat, version, last_message, unread, read_up_to, peer_read_up_to}
  const nodes = new Map(); // room -> <li>
  const title = document.title;
  let openRoom = null;
  let state = "loading";

  /** The server's count, unless this page has read up to the newest message since. */
  function unreadOf(entry) {
    const read = markers.readUpTo(entry.chat) ?? 0;
    return read >= entry.last_message.send_time ? 0 : entry.unread ?? 0;
  }

  function entryNode(entry) {
    const other = otherMember(entry.chat, me);
    const last = entry.last_message;
    const unread = unreadOf(entry);
    // The server counts exactly up to 100; 100 means "100 or more".
    const count = unread > 99 ? "99+" : String(unread);
    return el("li", { class: "entry" },
      el("a", {
        href: chatHref(entry.chat), "data-testid": "inbox-entry", "data-chat": entry.chat,
        "data-unread": unread, "aria-current": entry.chat === openRoom ? "page" : null,
      },
      avatar(other),
      el("span", { class: "entry-name", "data-testid": "inbox-name" }, other === me ? `${other} (you)` : other),
      el("time", { class: "entry-time", datetime: isoTime(last.send_time) }, formatTime(last.send_time)),
      el("span", { class: "entry-preview", "data-testid": "inbox-preview" },
        last.sender === me ? el("span", { class: "entry-you" }, "You: ") : null, last.text),
      unread > 0 ? el("span", { class: "badge", "data-testid": "unread" }, count,
        el("span", { class: "visually-hidden" }, unread === 1 ? " unread message" : " unread messages")) : null));
  }

  /** "(3) IM": the unread messages of every listed chat, in the tab's title. */
  function showTotal() {
    const counts = [...entries.values()].map(unreadOf);
    const total = counts.reduce((sum, n) => sum + n, 0);
    const more = counts.some((n) => n >= 100) ? "+" : "";
    document.title = total > 0 ? `(${total}${more}) ${title}` : title;
  }

  function render() {
    const focused = document.activeElement?.closest?.("[data-testid=inbox-entry]")?.dataset.chat;
    // By the newest message, not by version: a read marker that moves gives the room a new
    // version too, and a chat must not jump to the top because it was read.
    const ordered = [...entries.values()].sort((a, b) =>
      b.last_message.send_time - a.last_message.send_time || b.version - a.version);
    // Rebuilt whole: a list of 50 is cheap, and the newest-first order is then always right.
    list.replaceChildren(...ordered.map((entry) => {
      const node = entryNode(entry);
      nodes.set(entry.chat, node);
      return node;
    }));
    const text = entries.size > 0 ? "" : PLACEHOLDER[state];
    placeholder.textContent = text;
    placeholder.hidden = text === "";
    showTotal();
    if (focused) nodes.get(focused)?.querySelector("a").focus();
  }

  // Marker changes come in bursts (one per room of a listing): one render for them all.
  let renderQueued = false;
  function renderSoon() {
    if (renderQueued) return;
    renderQueued = true;
    queueMicrotask(() => {
      renderQueued = false;
      render();
    });
  }

  function apply(chats) {
    const newer = chats.filter((entry) => !(entries.get(entry.chat)?.version >= entry.version));
    for (const entry of newer) entries.set(entry.chat, entry);
    markers.learn(newer);
    render();
  }

  async function run() {
    const options = { signal, status, source: "inbox" };
    const recent = await persist(() => api.chatsRecent({ member: me }, signal), {
      ...options,
      onRetry: (err) => {
        state = err.unreachable ? "unreachable" : "loading";
        render();
      },
    });
    state = "ready";
    apply(recent.chats);
    let cursor = Math.max(0, ...recent.chats.map((c) => c.version + 1));
    for (;;) {
      const changed = await persist(() => api.chatsChanged({ member: me, cursor }, signal), options);
      apply(changed.chats);
      cursor = changed.next_cursor;
    }
  }

  run().catch((err) => {
    if (signal.aborted) return;
    if (err instanceof ApiError && err.status === 401) return onSignedOut(err);
    state = "failed";
    render();
    problem.textContent = `The chat list stopped: ${describe(err)}`;
    if (err instanceof ApiError && err.status === 403) onForbidden(describe(err));
  });

  const form = $("#new-chat-form");
  const input = $("#new-chat-name");
  const formError = $("#new-chat-error");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = input.value;
    const why = memberProblem(name);
    formError.textContent = why ?? "";
    if (why) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    if (why) return input.focus();
    input.value = "";
    location.hash = chatHref(roomOf(me, name));
  });
  markers.onChange(renderSoon);

  return {
    /** The chat shown beside (or instead of) the list: highlighted. */
    setOpen(room) {
      openRoom = room;
      render();
    },
    focus(room) {
      (nodes.get(room)?.querySelector("a") ?? input).focus();
    },
  };
}
