/**
 * Install prompt, offline flag and the state of the "update available" flow: what the views
 * render. A view-level browser convenience, per DESIGN.md's boundary.
 *
 * The service worker itself (workbox-window registration, update checks, skip-waiting) lives
 * in ./pwa-updates.ts, loaded after start: it is not part of the first load (DESIGN.md budgets).
 */
import type { Session } from './session.svelte';
import type { Updates } from './pwa-updates';
import { afterStart } from './after-start';

interface BeforeInstallPromptEvent extends Event {
	prompt(): Promise<void>;
	userChoice: Promise<{ outcome: 'accepted' | 'dismissed' }>;
}

class Pwa {
	/** A new version is installed and waiting for the user's tap. */
	updateWaiting = $state(false);
	/** The user asked to update while in a call: applied when the call ends. */
	updateDeferred = $state(false);
	/** The browser offered installation (beforeinstallprompt). */
	canInstall = $state(false);
	/** iOS, not installed: load the "Add to Home Screen" hint (it shows in Safari only). */
	iosHint = $state(false);
	standalone = $state(false);
	/** The service worker controls this page (offline-ready). */
	controlled = $state(false);
	/** The browser says it has a network (navigator.onLine): offline is a state, not an error. */
	online = $state(true);

	#updates: Updates | null = null;
	#installEvent: BeforeInstallPromptEvent | null = null;

	start(session: Session) {
		this.standalone =
			matchMedia('(display-mode: standalone)').matches ||
			(navigator as Navigator & { standalone?: boolean }).standalone === true;
		// The hint's own code (InstallHint.svelte) narrows this to Safari.
		this.iosHint = /iPhone|iPad|iPod/.test(navigator.userAgent) && !this.standalone;
		const offer = (e: BeforeInstallPromptEvent) => {
			this.#installEvent = e;
			this.canInstall = !this.standalone;
		};
		// Caught by src/app.html's inline script if it fired before this code loaded.
		const early = (window as Window & { __camcallInstallPrompt?: BeforeInstallPromptEvent }).__camcallInstallPrompt;
		if (early) offer(early);
		addEventListener('beforeinstallprompt', (e) => {
			e.preventDefault();
			offer(e as BeforeInstallPromptEvent);
		});
		addEventListener('appinstalled', () => {
			this.canInstall = false;
			this.#installEvent = null;
		});
		this.controlled = !!navigator.serviceWorker?.controller;
		this.online = navigator.onLine;
		addEventListener('online', () => (this.online = true));
		addEventListener('offline', () => (this.online = false));
		// The service worker 404s in dev mode: production builds only. Registered once the camera
		// and the ID are ready (or have settled otherwise, or after 8 s at most): its code and the
		// precache downloads must not compete with them on a first visit.
		if (import.meta.env.PROD && 'serviceWorker' in navigator) {
			afterStart(session, () => {
				void import('./pwa-updates').then(({ watchUpdates }) => (this.#updates = watchUpdates(this, session)));
			});
		}
	}

	/** The user tapped "update". */
	apply() {
		void this.#updates?.apply();
	}

	async install() {
		const event = this.#installEvent;
		if (!event) return;
		await event.prompt();
		await event.userChoice;
		this.#installEvent = null;
		this.canInstall = false;
	}
}

export type { Pwa };
export const pwa = new Pwa();

export function startPwa(session: Session) {
	pwa.start(session);
}
