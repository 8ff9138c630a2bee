// One chat's timeline: a list keyed by send_time, the server's order. A message is placed by its
// send_time and never shown twice, whichever way it came (a page, a waiting pull, the answer
// to our own send). Pending messages (typed, not stored yet) follow it until the server's copy
// replaces them.

import { el, formatStamp, isoTime } from "./dom.js";

/** The index at which `value` goes into the ascending array `sorted`. */
function upperBound(sorted, value) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `list` (an <ol>) shows the chat `room` to `me`; messages newer than `seenBefore` from the
 *  other member are marked as unseen, below a "New messages" divider. */
export function createTimeline({ list, room, me, seenBefore, onDiscard }) {
  const times = []; // send_times shown, ascending
  const nodes = new Map(); // send_time -> <li>
  const pending = new Map(); // client_msg_id -> <li>
  const divider = el("li", { class: "divider", "data-testid": "unseen-divider" }, el("span", {}, "New messages"));
  list.replaceChildren();

  function messageNode(message, unseen) {
    const mine = message.sender === me;
    return el("li", {
      class: `msg ${mine ? "mine" : "theirs"}`, "data-testid": "message",
      "data-send-time": message.send_time, "data-sender": message.sender, "data-unseen": unseen,
    },
    el("span", { class: "visually-hidden" }, mine ? "You: " : `${message.sender}: `),
    el("p", { class: "msg-text", "data-testid": "message-text" }, message.text),
    el("time", { class: "msg-meta", datetime: isoTime(message.send_time) }, formatStamp(message.send_time)));
  }

  function pendingNode(item) {
    const discard = el("button", { type: "button", class: "link" }, "Discard");
    discard.addEventListener("click", () => onDiscard(item.id));
    return el("li", {
      class: `msg mine pending ${item.state}`, "data-testid": "message", "data-pending": "true",
      "data-client-msg-id": item.id, "data-state": item.state,
    },
    el("span", { class: "visually-hidden" }, "You: "),
    el("p", { class: "msg-text", "data-testid": "message-text" }, item.text),
    item.state === "failed"
      ? el("span", { class: "msg-meta msg-error", role: "alert" }, `Not sent. ${item.error}. `, discard)
      : el("span", { class: "msg-meta" }, item.state === "waiting" ? "Waiting for the server…" : "Sending…"));
  }

  return {
    /** Puts messages in their place; returns those that were new. `live`: they arrive while
     *  the chat is open, so they count as unseen only while the tab is hidden. */
    insert(messages, live = false) {
      const added = [];
      // Having written after them means having read them (on another device, say).
      const mine = messages.filter((m) => m.sender === me).map((m) => m.send_time);
      if (Math.max(0, ...mine) > seenBefore) {
        seenBefore = Math.max(...mine);
        for (const node of list.querySelectorAll("[data-unseen]")) {
          if (Number(node.dataset.sendTime) <= seenBefore) node.removeAttribute("data-unseen");
        }
      }
      for (const message of messages) {
        if (message.chat !== room || nodes.has(message.send_time)) continue;
        const unseen = message.sender !== me && message.send_time > seenBefore && (!live || document.hidden);
        const node = messageNode(message, unseen);
        const at = upperBound(times, message.send_time);
        const next = at < times.length ? nodes.get(times[at]) : list.querySelector("[data-pending]");
        times.splice(at, 0, message.send_time);
        nodes.set(message.send_time, node);
        list.insertBefore(node, next);
        added.push(message);
      }
      const firstUnseen = list.querySelector("[data-unseen]");
      if (firstUnseen) list.insertBefore(divider, firstUnseen);
      else divider.remove();
      return added;
    },

    /** Shows exactly these pending items (outbox order) after the stored messages. */
    showPending(items) {
      const ids = new Set(items.map((i) => i.id));
      for (const [id, node] of pending) {
        if (!ids.has(id)) { node.remove(); pending.delete(id); }
      }
      for (const item of items) {
        const node = pendingNode(item);
        const old = pending.get(item.id);
        if (old) old.replaceWith(node);
        else list.append(node);
        pending.set(item.id, node);
      }
    },

    get newest() {
      return times.at(-1) ?? 0;
    },
    get empty() {
      return times.length === 0 && pending.size === 0;
    },
    get divider() {
      return divider.isConnected ? divider : null;
    },
  };
}
