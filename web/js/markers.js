// Read markers (SPEC "Read markers"): how far this member has read each chat, as the server
// stores it, and how far the other member has. The inbox listing brings both (and wakes when
// either moves, on any device); this page moves its own marker only while the person looks:
// the chat is open, the document visible and the window focused.
//
// The open chat reports the newest message of the other member it has brought into view. The
// first such report starts a short timer and later ones ride along, so a burst of messages is
// one call, and a glance that ends before the timer (the tab hidden, the window left) marks
// nothing. Closing the chat while looking marks at once. A marker is never sent lower than what
// the page knows is stored, nor sent again when nothing changed.

import { ApiError, persist } from "./api.js";
import { membersOf } from "./names.js";

const DELAY_MS = 500;

export function createMarkers({ api, me, status, signal, onSignedOut }) {
  const mine = new Map(); // room -> this member's marker, as stored
  const peers = new Map(); // room -> the other member's marker, as stored
  const refused = new Map(); // room -> a value the server refused (not sent again)
  const listeners = new Set();
  let shown = { room: null, upTo: 0 }; // what the open chat has in view
  let sending = null; // {room, upTo} of the call in flight
  let timer = null;

  const attentive = () => document.visibilityState === "visible" && document.hasFocus();
  const selfChat = (room) => membersOf(room)?.every((m) => m === me) ?? true;
  const notify = (room) => listeners.forEach((fn) => fn(room));

  /** The highest marker this page knows of or is storing: what counts as read. */
  function readUpTo(room) {
    const values = [mine.get(room), sending?.room === room ? sending.upTo : undefined];
    if (shown.room === room && attentive()) values.push(shown.upTo);
    const known = values.filter((v) => v !== undefined);
    return known.length > 0 ? Math.max(...known) : null;
  }

  function wanted() {
    const { room, upTo } = shown;
    if (!room || selfChat(room) || sending || upTo <= 0) return null;
    if (upTo <= Math.max(mine.get(room) ?? 0, refused.get(room) ?? 0)) return null;
    return { room, upTo };
  }

  function schedule() {
    if (timer || !attentive() || !wanted()) return;
    timer = setTimeout(() => {
      timer = null;
      if (attentive()) flush();
    }, DELAY_MS);
  }

  function cancel() {
    clearTimeout(timer);
    timer = null;
  }

  async function flush() {
    cancel();
    const next = wanted();
    if (!next) return;
    sending = next;
    try {
      // A retry goes out only while the page is visible: a hidden tab marks nothing.
      const answer = await persist(
        () => (document.visibilityState === "visible"
          ? api.markRead({ chat: next.room, member: me, readUpTo: next.upTo }, signal) : null),
        { signal, status, source: "read" },
      );
      if (answer) mine.set(next.room, Math.max(mine.get(next.room) ?? 0, answer.read_up_to));
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status === 401) return onSignedOut(err);
      // A refusal (403, or a server without markers) is not worth repeating for the same value.
      refused.set(next.room, next.upTo);
    } finally {
      sending = null;
    }
    notify(next.room);
    schedule(); // what came into view meanwhile
  }

  function attentionChanged() {
    if (!attentive()) cancel();
    schedule();
    if (shown.room) notify(shown.room);
  }
  document.addEventListener("visibilitychange", attentionChanged);
  window.addEventListener("focus", attentionChanged);
  window.addEventListener("blur", attentionChanged);

  return {
    attentive,
    readUpTo,
    /** The other member's marker in `room` (0 when none is known). */
    peerReadUpTo(room) {
      return peers.get(room) ?? 0;
    },

    /** Takes the markers of inbox entries in (they only move forward). */
    learn(entries) {
      for (const entry of entries) {
        const before = [mine.get(entry.chat), peers.get(entry.chat)];
        mine.set(entry.chat, Math.max(before[0] ?? 0, entry.read_up_to ?? 0));
        peers.set(entry.chat, Math.max(before[1] ?? 0, entry.peer_read_up_to ?? 0));
        if (before[0] !== mine.get(entry.chat) || before[1] !== peers.get(entry.chat)) notify(entry.chat);
      }
    },

    /** The open chat (null: none) has the other member's messages up to `upTo` in view. */
    show(room, upTo = 0) {
      if (shown.room !== room) {
        // Leaving a chat the person was looking at: what they saw counts now.
        if (shown.room && attentive()) flush();
        cancel();
      }
      const before = shown.room === room ? readUpTo(room) : null;
      shown = { room, upTo };
      schedule();
      if (room && readUpTo(room) !== before) notify(room);
    },

    /** fn(room): a marker of `room`, or what counts as read there, changed. */
    onChange(fn) {
      listeners.add(fn);
    },
  };
}
