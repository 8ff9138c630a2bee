// One chat's timeline: a list keyed by send_time, the server's order. A message is placed by its
// send_time and never shown twice, whichever way it came (a page, a waiting pull, the answer
// to our own send). Pending messages (typed, not stored yet) follow it until the server's copy
// replaces them. "Seen" goes under the newest own message the other member has read.

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

// What a pending message says of itself: a label a person can read at a glance, not only a tint.
const PENDING_LABEL = {
  queued: "Queued",
  sending: "Sending…",
  waiting: "Waiting for the server…",
};

/** `list` (an <ol>) shows the chat `room` to `me`; messages newer than `seenBefore` (this
 *  member's read marker when the chat opened; null: not known) from the other member are marked
 *  as unseen, below a "New messages" divider. `attentive()`: whether the person is looking. */
export function createTimeline({ list, room, me, seenBefore, attentive, onDiscard }) {
  const times = []; // send_times shown, ascending
  const nodes = new Map(); // send_time -> <li>
  const pending = new Map(); // client_msg_id -> <li>
  const divider = el("li", { class: "divider", "data-testid": "unseen-divider" }, el("span", {}, "New messages"));
  const seen = el("li", { class: "seen", "data-testid": "seen" }, "Seen");
  seenBefore ??= Infinity;
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
      ? el("span", { class: "msg-state", "data-testid": "message-state", role: "alert" }, `Not sent. ${item.error}. `, discard)
      : el("span", { class: "msg-state", "data-testid": "message-state" }, PENDING_LABEL[item.state]));
  }

  return {
    /** Puts messages in their place; returns those that were new. `live`: they arrive while
     *  the chat is open, so they count as unseen only while the person is not looking. */
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
        const unseen = message.sender !== me && message.send_time > seenBefore && (!live || !attentive());
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

    /** Puts "Seen" under the newest own message at or before `peerReadUpTo` (none: removed). */
    showSeen(peerReadUpTo) {
      for (let at = upperBound(times, peerReadUpTo) - 1; at >= 0; at -= 1) {
        const node = nodes.get(times[at]);
        if (node.dataset.sender !== me) continue;
        if (node.nextSibling !== seen) node.after(seen);
        return;
      }
      seen.remove();
    },

    /** The newest message of the other member whose top is above `y` (px from the top of the
     *  scrolled timeline, the offsetParent of the messages): 0 when none. */
    newestTheirsAbove(y) {
      let at = times.length;
      let lo = 0;
      while (lo < at) { // the first message whose top is at or below y
        const mid = (lo + at) >> 1;
        if (nodes.get(times[mid]).offsetTop < y) lo = mid + 1;
        else at = mid;
      }
      for (at -= 1; at >= 0; at -= 1) {
        if (nodes.get(times[at]).dataset.sender !== me) return times[at];
      }
      return 0;
    },
    get empty() {
      return times.length === 0 && pending.size === 0;
    },
    get divider() {
      return divider.isConnected ? divider : null;
    },
  };
}
