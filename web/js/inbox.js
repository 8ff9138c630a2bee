// The inbox: the member's chats, most recently changed first, each with the other member, the
// newest message and its time. One reverse listing fills it, then a loop of waiting forward
// listings keeps it current (no timer polls): each answer names the rooms that changed, and a
// room's entry replaces the older one of the same room.

import { $, avatar, el, formatTime, isoTime } from "./dom.js";
import { ApiError, describe, persist } from "./api.js";
import { memberProblem, otherMember, roomOf } from "./names.js";

const chatHref = (room) => `#/chat/${encodeURIComponent(room)}`;

export function mountInbox({ api, me, seen, status, signal, onSignedOut }) {
  const list = $("#inbox-list");
  const empty = $("#inbox-empty");
  const problem = $("#inbox-error");
  const entries = new Map(); // room -> {chat, version, last_message}
  const nodes = new Map(); // room -> <li>
  let openRoom = null;

  function isUnseen(entry) {
    const last = entry.last_message;
    return last.sender !== me && entry.chat !== openRoom && last.send_time > seen.get(entry.chat);
  }

  function entryNode(entry) {
    const other = otherMember(entry.chat, me);
    const last = entry.last_message;
    const unseen = isUnseen(entry);
    return el("li", { class: "entry" },
      el("a", {
        href: chatHref(entry.chat), "data-testid": "inbox-entry", "data-chat": entry.chat,
        "data-unseen": unseen, "aria-current": entry.chat === openRoom ? "page" : null,
      },
      avatar(other),
      el("span", { class: "entry-name" }, other === me ? `${other} (you)` : other),
      el("time", { class: "entry-time", datetime: isoTime(last.send_time) }, formatTime(last.send_time)),
      el("span", { class: "entry-preview", "data-testid": "inbox-preview" },
        last.sender === me ? el("span", { class: "entry-you" }, "You: ") : null, last.text),
      unseen ? el("span", { class: "badge" }, "new") : null));
  }

  function render() {
    const focused = document.activeElement?.closest?.("[data-testid=inbox-entry]")?.dataset.chat;
    const ordered = [...entries.values()].sort((a, b) => b.version - a.version);
    // Rebuilt whole: a list of 50 is cheap, and the newest-first order is then always right.
    list.replaceChildren(...ordered.map((entry) => {
      const node = entryNode(entry);
      nodes.set(entry.chat, node);
      return node;
    }));
    empty.hidden = entries.size > 0;
    if (focused) nodes.get(focused)?.querySelector("a").focus();
  }

  function apply(chats) {
    for (const entry of chats) {
      const known = entries.get(entry.chat);
      if (!known || entry.version > known.version) entries.set(entry.chat, entry);
    }
    render();
  }

  async function run() {
    const options = { signal, status, source: "inbox" };
    const recent = await persist(() => api.chatsRecent({ member: me }, signal), options);
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
    problem.textContent = `The chat list stopped: ${describe(err)}`;
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
  seen.onChange(render);

  return {
    /** The chat shown beside (or instead of) the list: highlighted, never marked unseen. */
    setOpen(room) {
      openRoom = room;
      render();
    },
    focus(room) {
      (nodes.get(room)?.querySelector("a") ?? input).focus();
    },
  };
}
