// A single-page app: the session actor (camera, signaling, call) lives in the browser only.
export const ssr = false;
export const prerender = false;
