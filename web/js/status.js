// The status line: what is wrong with the connection now and when the page tries again.
// Several loops (inbox, chat, sends) report under their own name; the latest report shows.
// The countdown sits in an aria-hidden span so that a screen reader hears the line once,
// not every second.

import { el } from "./dom.js";

export function createStatus(node) {
  const reports = new Map(); // source -> {text, until (ms since the epoch), at}
  const message = el("span", { class: "status-text" });
  const countdown = el("span", { class: "status-countdown", "aria-hidden": "true" });
  node.append(message, countdown);
  let ticker = null;
  let okTimer = null;

  function latest() {
    let best = null;
    for (const report of reports.values()) if (!best || report.at > best.at) best = report;
    return best;
  }

  function render() {
    const report = latest();
    if (!report) {
      countdown.textContent = "";
      clearInterval(ticker);
      ticker = null;
      return;
    }
    clearTimeout(okTimer);
    node.dataset.kind = "error";
    // Rewritten only when it changes: each rewrite of a live region is read out again.
    const line = `${report.text} — retrying`;
    if (message.textContent !== line) message.textContent = line;
    const seconds = Math.ceil((report.until - Date.now()) / 1000);
    countdown.textContent = seconds > 0 ? ` in ${seconds} s` : " now";
    // The countdown is the only thing ticking, and only while a retry is waiting.
    if (!ticker) ticker = setInterval(render, 250);
  }

  return {
    /** `source` failed with `text` and tries again in `ms`. */
    retrying(source, text, ms) {
      reports.set(source, { text, until: Date.now() + ms, at: performance.now() });
      render();
    },
    /** `source` works again; once nothing is wrong, say so briefly, then go quiet. */
    clear(source) {
      if (!reports.delete(source)) return;
      render();
      if (reports.size > 0) return;
      node.dataset.kind = "ok";
      message.textContent = "Connected";
      okTimer = setTimeout(() => {
        message.textContent = "";
        delete node.dataset.kind;
      }, 2500);
    },
  };
}
