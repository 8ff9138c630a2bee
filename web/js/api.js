// Every call the page makes, one function per route of the HTTP table (docs/api.md), and the
// one place that turns failures into ApiError with a line a person can read.

import { createBackoff, sleep } from "./backoff.js";

/** A failed call. status 0: no answer at all (connection refused or dropped, timeout). */
export class ApiError extends Error {
  constructor(status, code, msg, retryAfter) {
    super(msg);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds, from Retry-After, or null
  }

  /** The server is out of reach or busy: trying again later may work. */
  get unreachable() {
    return this.status === 0 || this.status >= 500;
  }

  get retryable() {
    return this.unreachable || this.status === 429;
  }
}

/** A readable line for any failure (never a stack trace). */
export function describe(err) {
  if (!(err instanceof ApiError)) return `Something went wrong in the page: ${err?.message ?? err}`;
  const msg = err.message;
  switch (err.status) {
    case 0: return "Server unreachable";
    case 400: return `Not accepted: ${msg}`;
    case 401: return "Not signed in: the server did not accept your sign-in";
    case 403: return `Not allowed: ${msg}`;
    case 404: return "Not found on this server";
    case 413: return "Too long for the server";
    case 422: return `Refused: ${msg}`;
    case 429: return "Too many requests";
    case 502: case 503: case 504: return "Server unreachable";
    default: return err.status >= 500 ? `Server error (${err.status})` : `Error ${err.status}: ${msg}`;
  }
}

/** Runs `call` until it succeeds: an unreachable server is retried with backoff and a 429
 *  after Retry-After, the wait shown on the status line under `source`. Other errors, and an
 *  abort of `signal`, are thrown. `onRetry(err, ms)` hears of each wait. */
export async function persist(call, { signal, status, source, onRetry }) {
  const backoff = createBackoff();
  for (;;) {
    try {
      const result = await call();
      status.clear(source);
      return result;
    } catch (err) {
      if (signal?.aborted || !(err instanceof ApiError) || !err.retryable) throw err;
      // A 429 says exactly when; an unreachable server gets ever longer waits, never shorter
      // than a Retry-After it sent.
      const hinted = err.retryAfter !== null ? err.retryAfter * 1000 + Math.random() * 250 : 0;
      const ms = err.status === 429 && hinted ? hinted : Math.max(hinted, backoff.next());
      status.retrying(source, describe(err), ms);
      onRetry?.(err, ms);
      await sleep(ms, signal);
    }
  }
}

const WAIT_MS = 25000;

/** The API for one signed-in page. `auth.token` (mode jwt) goes in the Authorization header;
 *  `auth.renew()`, when given, fetches a fresh token after a 401 (the demo issuer's tokens
 *  live an hour). */
export function createApi(auth = {}) {
  async function request(method, path, { query, body, signal, timeoutMs = 20000, renewed = false } = {}) {
    const url = query ? `${path}?${new URLSearchParams(query)}` : path;
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
    // A server that accepted the connection but never answers must not hang the page.
    const timeout = AbortSignal.timeout(timeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let answer;
    try {
      answer = await fetch(url, {
        method, headers, signal: both, cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new ApiError(0, 0, timeout.aborted ? "no answer in time" : "no connection", null);
    }
    const data = await answer.json().catch(() => null);
    if (answer.ok && data) return data;
    if (answer.status === 401 && auth.renew && !renewed && (await auth.renew())) {
      return request(method, path, { query, body, signal, timeoutMs, renewed: true });
    }
    const retryAfter = Number.parseInt(answer.headers.get("Retry-After") ?? "", 10);
    throw new ApiError(
      answer.ok ? 502 : answer.status,
      data?.code ?? 0,
      data?.msg ?? (answer.statusText || "unexpected answer"),
      Number.isFinite(retryAfter) ? retryAfter : null,
    );
  }

  return {
    /** GET /api/access: how to sign in. A server from before access control answers 404. */
    async access() {
      try {
        return await request("GET", "/api/access");
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return { mode: "none", demo_issuer: false };
        throw err;
      }
    },

    /** POST /api/demo/token: a one-hour token for `member` (demo issuer only). */
    async demoToken(member) {
      return (await request("POST", "/api/demo/token", { body: { member } })).token;
    },

    /** POST /api/send: the stored message ({message, duplicate}). */
    send({ chat, sender, text, clientMsgId }, signal) {
      return request("POST", "/api/send", {
        body: { chat, sender, text, client_msg_id: clientMsgId }, signal,
      });
    },

    /** GET /api/pull, a reverse page (older messages) from `cursor` (0: the newest). */
    pullOlder({ chat, cursor = 0, limit = 30 }, signal) {
      return request("GET", "/api/pull", { query: { chat, cursor, limit, reverse: true }, signal });
    },

    /** GET /api/pull, forward from `cursor`, waiting for the next message when there is none. */
    pullNewer({ chat, cursor }, signal) {
      return request("GET", "/api/pull", {
        query: { chat, cursor, wait_ms: WAIT_MS, limit: 100 }, signal, timeoutMs: WAIT_MS + 15000,
      });
    },

    /** POST /api/read: moves this member's read marker forward; the marker as stored
     *  ({chat, member, read_up_to}). */
    markRead({ chat, member, readUpTo }, signal) {
      return request("POST", "/api/read", { body: { chat, member, read_up_to: readUpTo }, signal });
    },

    /** GET /api/chats, reverse: the conversation list, most recent first, each entry with its
     *  unread count and both members' read markers. */
    chatsRecent({ member, limit = 50 }, signal) {
      return request("GET", "/api/chats", { query: { member, reverse: true, limit }, signal });
    },

    /** GET /api/chats, forward from a version, waiting until one of the rooms changes. */
    chatsChanged({ member, cursor }, signal) {
      return request("GET", "/api/chats", {
        query: { member, cursor, wait_ms: WAIT_MS }, signal, timeoutMs: WAIT_MS + 15000,
      });
    },
  };
}
