/**
 * Sounds and signals of a call that is not yet answered: the ringtone and vibration while we
 * ring, the ringback while the far side rings. Generated with Web Audio (no asset to download
 * or cache), each invoked by the call machine's state, so it stops the moment that state ends
 * (accept, decline, cancel, timeout), and the chart shows it running.
 *
 * While we ring and the page is hidden, the title flashes and, where notification permission
 * was already granted, the service worker shows a notification (tapping it focuses the app);
 * it is closed again when ringing ends.
 *
 * Loaded on first use by ./alert.ts (the actors), so it stays out of the first load.
 */
/** One tone pattern: frequencies played together, seconds on, seconds off. */
interface Pattern {
	tones: number[];
	on: number;
	off: number;
	gain: number;
}

/** A phone's ring: two short bursts, then a pause. */
const ringtone: Pattern = { tones: [440, 480], on: 0.4, off: 0.2, gain: 0.18 };
/** The ringback a caller hears (the North American 440 + 480 Hz, 2 s on, 4 s off), quieter. */
const ringback: Pattern = { tones: [440, 480], on: 2, off: 4, gain: 0.06 };
/** Vibrate like a phone ringing: on, off, on, long off; repeated while ringing. */
export const vibrationPattern = [400, 200, 400, 1200];

type AudioContextCtor = new () => AudioContext;

function audioContextCtor(): AudioContextCtor | null {
	const g = globalThis as { AudioContext?: AudioContextCtor; webkitAudioContext?: AudioContextCtor };
	return g.AudioContext ?? g.webkitAudioContext ?? null;
}

/** Plays `pattern` until the returned stop is called; silent where audio is unavailable or
 * not yet allowed (no user gesture on this page): the visual and vibration alerts remain. */
function play(pattern: Pattern, burstsPerCycle: number): () => void {
	const Ctor = audioContextCtor();
	if (!Ctor) return () => {};
	let ctx: AudioContext;
	try {
		ctx = new Ctor();
	} catch {
		return () => {};
	}
	const master = ctx.createGain();
	master.gain.value = pattern.gain;
	master.connect(ctx.destination);
	const cycle = burstsPerCycle * (pattern.on + pattern.off) + (burstsPerCycle > 1 ? 2 : 0);
	let scheduledUntil = ctx.currentTime;
	const oscillators: OscillatorNode[] = [];
	/** Schedules the next few cycles ahead, so timers throttled in the background don't gap. */
	const schedule = () => {
		while (scheduledUntil < ctx.currentTime + 8) {
			for (let burst = 0; burst < burstsPerCycle; burst++) {
				const start = scheduledUntil + burst * (pattern.on + pattern.off);
				for (const frequency of pattern.tones) {
					const osc = ctx.createOscillator();
					const env = ctx.createGain();
					osc.frequency.value = frequency;
					env.gain.setValueAtTime(0, start);
					env.gain.linearRampToValueAtTime(1, start + 0.02);
					env.gain.setValueAtTime(1, start + pattern.on - 0.02);
					env.gain.linearRampToValueAtTime(0, start + pattern.on);
					osc.connect(env).connect(master);
					osc.start(start);
					osc.stop(start + pattern.on);
					oscillators.push(osc);
					osc.onended = () => oscillators.splice(oscillators.indexOf(osc), 1);
				}
			}
			scheduledUntil += cycle;
		}
	};
	schedule();
	const timer = setInterval(schedule, 2000);
	void ctx.resume().catch(() => {});
	return () => {
		clearInterval(timer);
		for (const osc of oscillators.splice(0)) {
			try {
				osc.stop();
			} catch {
				/* not started */
			}
		}
		void ctx.close().catch(() => {});
	};
}

function vibrate(pattern: number[] | 0): void {
	try {
		navigator.vibrate?.(pattern);
	} catch {
		/* not allowed here */
	}
}

const NOTIFICATION_TAG = 'camcall-incoming';

async function notify(title: string): Promise<void> {
	if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
	const registration = await navigator.serviceWorker?.getRegistration();
	await registration?.showNotification(title, { tag: NOTIFICATION_TAG, requireInteraction: true, icon: '/icons/icon-192.png' });
}

async function closeNotifications(): Promise<void> {
	const registration = await navigator.serviceWorker?.getRegistration();
	for (const n of (await registration?.getNotifications({ tag: NOTIFICATION_TAG })) ?? []) n.close();
}

import type { RingInput } from './alert';

/** While we ring: ringtone, vibration, and when hidden a flashing title and a notification. */
export function startRing(input: RingInput): () => void {
	const stopSound = play(ringtone, 2);
	const cycle = vibrationPattern.reduce((a, b) => a + b, 0);
	vibrate(vibrationPattern);
	const buzz = setInterval(() => vibrate(vibrationPattern), cycle);
	const originalTitle = document.title;
	let flash = false;
	const flasher = setInterval(() => {
		if (document.visibilityState === 'visible') {
			document.title = originalTitle;
			return;
		}
		flash = !flash;
		document.title = flash ? `📞 ${input.from}` : originalTitle;
	}, 1000);
	let notified = false;
	const onHidden = () => {
		if (document.visibilityState !== 'hidden' || notified) return;
		notified = true;
		void notify(`📞 ${input.from}`).catch(() => {});
	};
	onHidden();
	document.addEventListener('visibilitychange', onHidden);
	return () => {
		stopSound();
		clearInterval(buzz);
		vibrate(0);
		clearInterval(flasher);
		document.title = originalTitle;
		document.removeEventListener('visibilitychange', onHidden);
		if (notified) void closeNotifications().catch(() => {});
	};
}

/** While the far side rings: the ringback tone the caller hears. */
export function startRingBack(): () => void {
	return play(ringback, 1);
}
