/**
 * The service worker and its updates, through workbox-window. Loaded by ./pwa.svelte.ts after
 * start, so neither this nor workbox-window is in the first load.
 *
 * The first install activates at once (clientsClaim) and just takes control. A later version
 * waits: the app shows "update available"; on the user's tap we send skip-waiting and reload
 * when the new worker controls the page — never during a call (deferred until it ends).
 */
import { Workbox } from 'workbox-window';
import { topState, type Session } from './session.svelte';
import type { Pwa } from './pwa.svelte';

/** An installed app can stay open for days without a navigation (the browser's own update
 * check): look for a new version now and then, and when it comes back to the foreground. */
const UPDATE_CHECK_MS = 60 * 60 * 1000;

/** How long the app must be quiet before the service worker is registered. */
export const QUIET_MS = 2000;

/** Signaling still registering, or a call ringing, connecting or recovering. */
function busy(session: Session): boolean {
	const signaling = session.system.get('signaling')?.getSnapshot() as { value: unknown } | undefined;
	if (signaling && topState(signaling.value) === 'connecting') return true;
	const call = session.getSnapshot().context.call?.getSnapshot();
	return !!call && call.status === 'active' && topState(call.value) !== 'connected';
}

/**
 * Runs `register` once the page has loaded and the app has been quiet for QUIET_MS. Installing
 * the service worker precaches every asset at once: ~40 requests to the server that also relays
 * signaling, and main-thread work to store them. Done right after load it slowed the first
 * registration and a call placed or answered in the first second (`npm run bench`). A connected
 * call counts as quiet: its media no longer goes through the server.
 */
function whenQuiet(session: Session, register: () => void): void {
	let quietSince = 0;
	const check = () => {
		if (document.readyState !== 'complete' || busy(session)) quietSince = 0;
		else if (!quietSince) quietSince = Date.now();
		else if (Date.now() - quietSince >= QUIET_MS) {
			clearInterval(timer);
			register();
		}
	};
	const timer = setInterval(check, QUIET_MS / 4);
	check();
}

/**
 * Calls `onWaiting` whenever a new version has installed and waits behind the one controlling
 * this page, however it was found: this page's checks, another tab, the browser's own, or an
 * install already under way when the page registered. Watched on the registration itself:
 * workbox-window's `waiting` event misses a worker that began installing before its
 * register() call, and stops listening after the first update it did not start.
 */
function watchWaiting(registration: ServiceWorkerRegistration, onWaiting: () => void): void {
	const check = () => {
		if (registration.waiting && navigator.serviceWorker.controller) onWaiting();
	};
	const follow = (worker: ServiceWorker | null) => worker?.addEventListener('statechange', check);
	follow(registration.installing);
	registration.addEventListener('updatefound', () => follow(registration.installing));
	check();
}

export interface Updates {
	/** The user tapped "update". */
	apply(): Promise<void>;
}

/** Ringing counts: a reload would drop the incoming call. */
function inCall(session: Session): boolean {
	const call = session.getSnapshot().context.call;
	return !!call && call.getSnapshot().status === 'active';
}

export function watchUpdates(pwa: Pwa, session: Session): Updates {
	const wb = new Workbox('/sw.js', { scope: '/' });
	/** The user approved the update: reload once the new worker controls the page. */
	let reloading = false;
	/** The new worker took control while a call was on: reload when it ends. */
	let reloadPending = false;

	const reload = () => {
		if (inCall(session)) reloadPending = true;
		else location.reload();
	};

	const apply = async () => {
		if (inCall(session)) {
			pwa.updateDeferred = true;
			return;
		}
		pwa.updateDeferred = false;
		reloading = true;
		const registration = await navigator.serviceWorker.getRegistration('/');
		// No worker waiting any more: another tab already activated it, so it controls this
		// page and a reload is all that is left.
		if (registration?.waiting) wb.messageSkipWaiting();
		else reload();
	};

	const check = async () => {
		if (!navigator.onLine) return;
		try {
			await wb.update();
		} catch {
			/* offline or the server is down: the next check will do */
		}
	};

	wb.addEventListener('controlling', () => {
		const wasControlled = pwa.controlled;
		pwa.controlled = true;
		// Only a user-approved update reloads; the first install just takes control. Not gated
		// on workbox's `isUpdate`: it is false for the whole life of the page that saw the first
		// install, and that page would then never reload into the update.
		if (reloading) reload();
		// Another tab applied an update: this page still runs the old code. Offer a reload.
		else if (wasControlled) pwa.updateWaiting = true;
	});
	// Apply a deferred update as soon as the call is over.
	session.subscribe(() => {
		if (inCall(session)) return;
		if (reloadPending) location.reload();
		else if (pwa.updateDeferred) void apply();
	});

	whenQuiet(session, () =>
		void wb.register().then((registration) => {
			if (registration) watchWaiting(registration, () => (pwa.updateWaiting = true));
			setInterval(() => void check(), UPDATE_CHECK_MS);
			document.addEventListener('visibilitychange', () => {
				if (document.visibilityState === 'visible') void check();
			});
		})
	);
	return { apply };
}
