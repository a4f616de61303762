/**
 * English and Simplified Chinese catalogs for every user-visible string, error messages
 * included. The language comes from `navigator.languages` unless the user picked one (saved).
 */
import { captureMessages, signalingMessages, callMessages } from '$machines/errors';

const en = {
	'app.name': 'CamCall',
	'lang.label': 'Language',
	'nav.inspect': 'State chart',
	'nav.gallery': 'Gallery',
	'camera.start': 'Start camera',
	'camera.startHint': 'Tap to turn on your camera. The microphone only opens when a call starts.',
	'camera.flip': 'Switch camera',
	'camera.retry': 'Try again',
	'camera.details': 'Camera and call details',
	'photo.take': 'Take photo',
	'share.yourId': 'Your ID',
	'share.link': 'Call link',
	'share.copy': 'Copy link',
	'share.copied': 'Link copied',
	'share.share': 'Share',
	'share.qr': 'QR code of your call link',
	'share.showQr': 'Show the QR code of your call link',
	'share.qrClose': 'Close QR code',
	'share.shareText': 'Call me on CamCall',
	'share.waiting': 'Getting your ID…',
	'share.temporary': 'Another tab holds your saved ID, so this tab uses a temporary one.',
	'share.server': 'Signaling server',
	'share.serverHere': "{host} (this app's server)",
	'share.serverRemembered': "{host} (remembered: this app's server is not answering right now)",
	'share.serverCloud': 'PeerJS public cloud',
	'share.cloudNote': 'The public cloud (0.peerjs.com, run by the PeerJS project, not by this app) sees your ID and the IDs you call.',
	'dial.label': 'ID of the person to call',
	'dial.placeholder': 'Their ID',
	'dial.call': 'Call',
	'scan.open': 'Scan a QR code',
	'scan.unavailable': 'The QR reader did not load. Check your connection and try again.',
	'scan.found': 'Scanned {id}. Tap Call to call.',
	'dial.invalid': 'IDs use only letters, digits and single dashes, underscores or spaces between them.',
	'dial.empty': 'Enter the ID of the person to call.',
	'dial.tooLong': 'That ID is too long (at most 64 characters).',
	'dial.notConnected': 'Not connected to the signaling server yet. Try again in a moment.',
	'dial.self': 'That is your own ID. Share it with the person who should call you, or enter theirs.',
	'call.accept': 'Accept',
	'call.decline': 'Decline',
	'call.hangup': 'Hang up',
	'id.change': 'Change',
	'id.taken': 'That ID is taken. Choose another, or get a new one.',
	'call.dismiss': 'Dismiss',
	'call.again': 'Call again',
	'call.remoteLabel': 'Video of {id}',
	'call.localLabel': 'Your camera',
	'signaling.retry': 'Retry',
	'signaling.freshId': 'Use a new ID',
	'state.capture.idle': 'Camera off.',
	'state.capture.acquiring': 'Opening the camera…',
	'state.capture.live': 'Camera on.',
	'state.capture.switching': 'Switching camera…',
	'state.capture.failed': 'Camera failed.',
	'state.signaling.connecting': 'Connecting…',
	'state.signaling.open': 'Online',
	'state.signaling.disconnected': 'Offline, retrying',
	'state.signaling.reconnecting': 'Reconnecting…',
	'state.signaling.failed': 'Signaling failed',
	'state.signaling.unavailable': 'Calls unavailable',
	'state.call.idle': 'No call.',
	'state.call.calling': 'Calling {id}…',
	'state.call.ringing': 'Incoming call from {id}.',
	'state.call.connecting': 'Connecting the call with {id}…',
	'state.call.connected': 'In a call with {id}.',
	'state.call.recovering': 'Connection unstable: recovering…',
	'state.call.ended': 'Call ended.',
	'state.call.failed': 'Call failed.',
	'update.available': 'A new version is available.',
	'update.apply': 'Update',
	'update.afterCall': 'Update after the call',
	'install.button': 'Install app',
	'offline.note': 'You are offline. The camera works; calls resume when the network is back.',
} as const;

type CoreKey = keyof typeof en;
/** Every string's key: the first load's, and those that come with later screens (i18n.later.ts,
 * i18n.people.ts). */
export type MessageKey = CoreKey | keyof typeof import('./i18n.later').laterEn | keyof typeof import('./i18n.people').peopleEn;
/** A language's catalog of the first load's strings. */
export type Catalog = Record<CoreKey, string>;

/** The later screens' strings, added by i18n.later.ts when the first of them loads. */
const later: { en: Record<string, string>; zh: Record<string, string> } = { en: {}, zh: {} };
export function addLater(enPart: Record<string, string>, zhPart: Record<string, string>): void {
	Object.assign(later.en, enPart);
	Object.assign(later.zh, zhPart);
}

/** Failure messages by reason, per language; English comes from machines/errors.ts. */
const enReasons: Record<string, string> = {
	...Object.fromEntries(Object.entries(captureMessages).map(([k, v]) => [`capture.${k}`, v])),
	...Object.fromEntries(Object.entries(signalingMessages).map(([k, v]) => [`signaling.${k}`, v])),
	...Object.fromEntries(Object.entries(callMessages).map(([k, v]) => [`call.${k}`, v]))
	// photo.*: the photo machine's own English message is the fallback (its code loads later).
};

export type Locale = 'en' | 'zh';

const STORAGE_KEY = 'camcall.locale';

function detect(): Locale {
	try {
		const saved = localStorage.getItem(STORAGE_KEY);
		if (saved === 'en' || saved === 'zh') return saved;
	} catch {
		/* storage blocked: fall back to the browser's languages */
	}
	const languages = typeof navigator !== 'undefined' ? navigator.languages ?? [navigator.language] : [];
	for (const lang of languages) {
		if (/^zh\b/i.test(lang)) return 'zh';
		if (/^en\b/i.test(lang)) return 'en';
	}
	return 'en';
}

interface Loaded {
	locale: Locale;
	catalog: Catalog;
	reasons: Record<string, string>;
}

const english: Loaded = { locale: 'en', catalog: en, reasons: enReasons };

async function load(locale: Locale): Promise<Loaded> {
	if (locale === 'en') return english;
	const zh = await import('./i18n.zh');
	return { locale, catalog: zh.zh, reasons: zh.zhReasons };
}

class I18n {
	/** The chosen language; its catalog may still be on its way (then English shows). */
	locale = $state<Locale>('en');
	#loaded = $state.raw<Loaded>(english);
	#request = 0;

	constructor() {
		const wanted = detect();
		if (wanted !== 'en') void this.#apply(wanted);
	}

	async #apply(locale: Locale) {
		const mine = ++this.#request;
		this.locale = locale;
		const loaded = await load(locale);
		if (mine !== this.#request) return;
		this.#loaded = loaded;
		if (typeof document !== 'undefined') document.documentElement.lang = locale === 'zh' ? 'zh-CN' : 'en';
	}

	set(locale: Locale) {
		try {
			localStorage.setItem(STORAGE_KEY, locale);
		} catch {
			/* not remembered, still switched */
		}
		void this.#apply(locale);
	}

	t = (key: MessageKey, params: Record<string, string | number> = {}): string => {
		const loaded = this.#loaded;
		const text =
			(loaded.catalog as Record<string, string>)[key] ??
			(loaded.locale === 'zh' ? later.zh[key] : undefined) ??
			(en as Record<string, string>)[key] ??
			later.en[key] ??
			key;
		return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? ''));
	};

	/** A machine's failure in the current language: by reason, else the machine's English text. */
	reason = (scope: 'capture' | 'signaling' | 'call' | 'photo', failure: { reason: string; message: string } | null | undefined) => {
		if (!failure) return '';
		return this.#loaded.reasons[`${scope}.${failure.reason}`] ?? failure.message;
	};
}

export const i18n = new I18n();
