import type { ClientInit } from '@sveltejs/kit';
import { startSession } from '$lib/session.svelte';
import { startPwa } from '$lib/pwa.svelte';
// For its side effect: a saved or preferred Chinese catalog starts loading before the first render.
import '$lib/i18n.svelte';

/**
 * Runs before SvelteKit loads and mounts the first route: the session (camera permission, the
 * PeerServer registration) and the PWA plumbing (install prompt, service worker) start now
 * instead of after the UI is built. Measured by `npm run bench` (page load → registered).
 */
export const init: ClientInit = () => {
	startPwa(startSession().actor);
};
