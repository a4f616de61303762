/**
 * Service worker registration, the "update available" flow, and the install prompt.
 * A view-level browser convenience (workbox-window), per DESIGN.md's boundary.
 *
 * Updates: the first install activates at once (clientsClaim); a later version waits. We show
 * "update available"; on the user's tap we send skip-waiting and reload when the new worker
 * controls the page — never during a call (deferred until it ends).
 */
import type { Workbox } from 'workbox-window';
import type { Session } from './session.svelte';

interface BeforeInstallPromptEvent extends Event {
	prompt(): Promise<void>;
	userChoice: Promise<{ outcome: 'accepted' | 'dismissed' }>;
}

/** An installed app can stay open for days without a navigation (the browser's own update
 * check): look for a new version now and then, and when it comes back to the foreground. */
const UPDATE_CHECK_MS = 60 * 60 * 1000;

/** Ringing counts: a reload would drop the incoming call. */
function inCall(session: Session | null): boolean {
	const call = session?.getSnapshot().context.call;
	return !!call && call.getSnapshot().status === 'active';
}

class Pwa {
	/** A new version is installed and waiting for the user's tap. */
	updateWaiting = $state(false);
	/** The user asked to update while in a call: applied when the call ends. */
	updateDeferred = $state(false);
	/** The browser offered installation (beforeinstallprompt). */
	canInstall = $state(false);
	/** iOS Safari, not installed: show the "Add to Home Screen" hint. */
	iosHint = $state(false);
	standalone = $state(false);
	/** The service worker controls this page (offline-ready). */
	controlled = $state(false);
	/** The browser says it has a network (navigator.onLine): offline is a state, not an error. */
	online = $state(true);

	#wb: Workbox | null = null;
	#session: Session | null = null;
	#installEvent: BeforeInstallPromptEvent | null = null;
	/** The user approved the update: reload once the new worker controls the page. */
	#reloading = false;
	/** The new worker took control while a call was on: reload when it ends. */
	#reloadPending = false;

	start(session: Session) {
		this.#session = session;
		this.standalone =
			matchMedia('(display-mode: standalone)').matches ||
			(navigator as Navigator & { standalone?: boolean }).standalone === true;
		const ua = navigator.userAgent;
		const ios = /iPhone|iPad|iPod/.test(ua) && /Safari/.test(ua) && !/CriOS|FxiOS/.test(ua);
		this.iosHint = ios && !this.standalone;
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
		if (import.meta.env.PROD && 'serviceWorker' in navigator) void this.#register();
		// Apply a deferred update as soon as the call is over.
		session.subscribe(() => {
			if (inCall(session)) return;
			if (this.#reloadPending) location.reload();
			else if (this.updateDeferred) this.apply();
		});
	}

	async #register() {
		const { Workbox } = await import('workbox-window');
		const wb = new Workbox('/sw.js', { scope: '/' });
		this.#wb = wb;
		// Also fires for a version found by another tab (isExternal): same prompt.
		wb.addEventListener('waiting', () => (this.updateWaiting = true));
		wb.addEventListener('controlling', () => {
			const wasControlled = this.controlled;
			this.controlled = true;
			// Only a user-approved update reloads; the first install just takes control. Not
			// gated on workbox's `isUpdate`: it is false for the whole life of the page that saw
			// the first install, and that page would then never reload into the update.
			if (this.#reloading) this.#reload();
			// Another tab applied an update: this page still runs the old code. Offer a reload.
			else if (wasControlled) this.updateWaiting = true;
		});
		await wb.register();
		setInterval(() => void this.#checkForUpdate(), UPDATE_CHECK_MS);
		document.addEventListener('visibilitychange', () => {
			if (document.visibilityState === 'visible') void this.#checkForUpdate();
		});
	}

	async #checkForUpdate() {
		if (!navigator.onLine) return;
		try {
			await this.#wb?.update();
		} catch {
			/* offline or the server is down: the next check will do */
		}
	}

	#reload() {
		if (inCall(this.#session)) {
			this.#reloadPending = true;
			return;
		}
		location.reload();
	}

	/** The user tapped "update". */
	async apply() {
		if (!this.#wb) return;
		if (inCall(this.#session)) {
			this.updateDeferred = true;
			return;
		}
		this.updateDeferred = false;
		this.#reloading = true;
		const registration = await navigator.serviceWorker.getRegistration('/');
		// No worker waiting any more: another tab already activated it, so it controls this
		// page and a reload is all that is left.
		if (registration?.waiting) this.#wb.messageSkipWaiting();
		else this.#reload();
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

export const pwa = new Pwa();

export function startPwa(session: Session) {
	pwa.start(session);
}
