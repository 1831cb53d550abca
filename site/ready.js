// "Page ready": <html data-ready> once Python has drawn its first estimate (or said why it
// cannot). app.js marks it; the other modules wait for it here instead of each watching the
// attribute; tests and benchmarks wait for the attribute. Every module of the page imports
// this one file (one module instance per page), so the promise is shared.
const root = document.documentElement;
let resolve;

/** Resolves once the page is ready. */
export const pageReady = new Promise((done) => { resolve = done; });

/** Whether the page is ready now. */
export const isReady = () => root.hasAttribute("data-ready");

/** Marks the page ready (app.js, once the first answer or error is on screen). */
export function markReady() {
  root.dataset.ready = "";
  resolve();
}
