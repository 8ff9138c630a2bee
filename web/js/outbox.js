// Messages typed but not yet stored. Each keeps the client_msg_id it was given for its whole
// life, so a retry after a lost answer (502, 503, 504, a dropped connection) stores it once:
// the server answers a repeat with the original message. One chat's messages go one at a time,
// so they are stored in the order they were typed.

import { ApiError, describe, persist } from "./api.js";

function freshId() {
  // getRandomValues, unlike randomUUID, also works on a page served over plain http.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function createOutbox({ api, me, status, signal, onSignedOut }) {
  // {id, room, text, state, error}; state: "queued" (behind another of its chat), "sending",
  // "waiting" (for the server, to try again) or "failed".
  const items = [];
  const listeners = new Set();
  const running = new Set(); // rooms whose queue is being sent

  const emit = (room, stored) => listeners.forEach((fn) => fn(room, stored));

  async function drain(room) {
    if (running.has(room)) return;
    running.add(room);
    try {
      for (;;) {
        const item = items.find((i) => i.room === room && i.state !== "failed");
        if (!item || signal.aborted) return;
        if (item.state === "queued") {
          item.state = "sending";
          emit(room);
        }
        await deliver(item);
      }
    } finally {
      running.delete(room);
    }
  }

  async function deliver(item) {
    try {
      const answer = await persist(
        // A waiting pull may have delivered the stored copy meanwhile: then stop.
        () => (items.includes(item) ? api.send({ chat: item.room, sender: me, text: item.text, clientMsgId: item.id }, signal) : null),
        {
          signal, status, source: "send",
          onRetry: () => { item.state = "waiting"; emit(item.room); },
        },
      );
      if (answer) settle(answer.message);
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status === 401) onSignedOut(err);
      item.state = "failed";
      item.error = describe(err);
      emit(item.room);
    }
  }

  /** The server's copy of a message: the pending one with its client_msg_id goes. */
  function settle(message) {
    if (message.sender !== me || !message.client_msg_id) return;
    const index = items.findIndex((i) => i.id === message.client_msg_id && i.room === message.chat);
    if (index < 0) return;
    items.splice(index, 1);
    emit(message.chat, message);
  }

  return {
    add(room, text) {
      const behind = items.some((i) => i.room === room && i.state !== "failed");
      items.push({ id: freshId(), room, text, state: behind ? "queued" : "sending", error: null });
      emit(room);
      drain(room);
    },
    discard(id) {
      const index = items.findIndex((i) => i.id === id);
      if (index < 0) return;
      const [item] = items.splice(index, 1);
      emit(item.room);
    },
    settle,
    pending(room) {
      return items.filter((i) => i.room === room);
    },
    /** fn(room, stored?): the pending list of `room` changed; `stored` is the server's copy
     *  that replaced a pending message. */
    onChange(fn) {
      listeners.add(fn);
    },
  };
}
