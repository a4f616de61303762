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

	#wb: Workbox | null = null;
	#session: Session | null = null;
	#installEvent: BeforeInstallPromptEvent | null = null;
	#reloading = false;

	start(session: Session) {
		this.#session = session;
		this.standalone =
			matchMedia('(display-mode: standalone)').matches ||
			(navigator as Navigator & { standalone?: boolean }).standalone === true;
		const ua = navigator.userAgent;
		const ios = /iPhone|iPad|iPod/.test(ua) && /Safari/.test(ua) && !/CriOS|FxiOS/.test(ua);
		this.iosHint = ios && !this.standalone;
		addEventListener('beforeinstallprompt', (e) => {
			e.preventDefault();
			this.#installEvent = e as BeforeInstallPromptEvent;
			this.canInstall = !this.standalone;
		});
		addEventListener('appinstalled', () => {
			this.canInstall = false;
			this.#installEvent = null;
		});
		this.controlled = !!navigator.serviceWorker?.controller;
		if (import.meta.env.PROD && 'serviceWorker' in navigator) void this.#register();
		// Apply a deferred update as soon as the call is over.
		session.subscribe(() => {
			if (this.updateDeferred && !inCall(session)) this.apply();
		});
	}

	async #register() {
		const { Workbox } = await import('workbox-window');
		const wb = new Workbox('/sw.js', { scope: '/' });
		this.#wb = wb;
		wb.addEventListener('waiting', () => (this.updateWaiting = true));
		wb.addEventListener('controlling', (event) => {
			this.controlled = true;
			// Only a user-approved update reloads; the first install just takes control.
			if (event.isUpdate && this.#reloading) location.reload();
		});
		await wb.register();
	}

	/** The user tapped "update". */
	apply() {
		if (!this.#wb) return;
		if (inCall(this.#session)) {
			this.updateDeferred = true;
			return;
		}
		this.updateDeferred = false;
		this.#reloading = true;
		this.#wb.messageSkipWaiting();
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
