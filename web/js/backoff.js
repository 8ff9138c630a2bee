// Exponential backoff with jitter, so that many pages coming back after an outage do not all
// knock at the same instant.

export function createBackoff({ min = 500, max = 10000 } = {}) {
  let attempt = 0;
  return {
    /** The next delay in ms: min, 2·min, 4·min … capped at max, each scaled by 0.5–1.0. */
    next() {
      const ceiling = Math.min(max, min * 2 ** attempt);
      attempt += 1;
      return Math.round(ceiling * (0.5 + Math.random() / 2));
    },
    reset() {
      attempt = 0;
    },
  };
}

/** Resolves after `ms`, or rejects with an AbortError as soon as `signal` aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    // Coming back online is a fact worth more than the rest of the wait.
    window.addEventListener("online", done);
    signal?.addEventListener("abort", abort, { once: true });
    function done() {
      cleanup();
      resolve();
    }
    function abort() {
      cleanup();
      reject(signal.reason);
    }
    function cleanup() {
      clearTimeout(timer);
      window.removeEventListener("online", done);
      signal?.removeEventListener("abort", abort);
    }
  });
}
