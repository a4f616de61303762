/**
 * The work of the call's microphone (./microphone.ts is the actor): imported when a call first
 * opens it, and ahead of the first call once the page is idle (actors/call-extras.ts), so no
 * first visit loads it.
 *
 * On WebKit on iOS and iPadOS a second getUserMedia can end or mute the tracks the first one
 * opened (WebKit bug 179363; quickmeet #18, jitsi-meet #6903): asking for the microphone alone
 * while the preview runs could leave a black preview and send the far side a dead camera. There
 * the microphone is asked for together with the camera as it is now (same device, else same
 * facing), and the new camera track is handed to the capture machine, which keeps it for the
 * preview and the call and stops the old one only then. Elsewhere the microphone is asked for
 * alone.
 *
 * This module imports nothing at run time: the camera's constraints come from the actor, whose
 * chunk has media.ts already. A lazily loaded module that imported media.ts split the first
 * load's code into one more file for every first visit (measured with `npm run size`).
 */
import type { videoConstraints as VideoConstraints } from './media';
import type { MicEvent } from './microphone';

/** What the engine decision reads: `navigator.userAgent` and `navigator.maxTouchPoints`. */
export interface EngineFacts {
	userAgent: string;
	maxTouchPoints: number;
}

/**
 * Whether a second getUserMedia may end the tracks of the first: WebKit on iOS or iPadOS, which
 * every browser there is, whatever its name (Chrome's CriOS and Firefox's FxiOS included).
 * iPadOS asks for desktop sites as a "Macintosh": its touch screen tells it from a Mac.
 */
export function secondRequestEndsTracks(facts: EngineFacts): boolean {
	return /iPhone|iPad|iPod/.test(facts.userAgent) || (/Macintosh/.test(facts.userAgent) && facts.maxTouchPoints > 1);
}

const audio: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * What the call asks getUserMedia for: the microphone alone, or, where a second request may end
 * the camera's track and the camera is live, the microphone with the camera as it is now (its
 * device; its facing where it reports no device), at the preview's ideal size.
 */
export function micRequest(
	facts: EngineFacts,
	camera: MediaStreamTrack | null,
	videoConstraints: typeof VideoConstraints
): MediaStreamConstraints {
	if (camera?.readyState !== 'live' || !secondRequestEndsTracks(facts)) return { audio, video: false };
	const { deviceId, facingMode } = camera.getSettings();
	return { audio, video: videoConstraints({ facing: facingMode === 'environment' ? 'environment' : 'user', deviceId, relaxed: false }) };
}

/**
 * Opens the microphone for a call (`camera`: the call's camera stream, null without one) and
 * reports `mic.ready` or `mic.unavailable` once. Returns the stop: the microphone's track is
 * stopped, and whatever arrives after it (a late permission prompt) is stopped at once, camera
 * included. A camera handed over in `mic.ready` is the capture machine's from then on.
 */
export function openMicrophone(camera: MediaStream | null, sendBack: (event: MicEvent) => void, videoConstraints: typeof VideoConstraints): () => void {
	let track: MediaStreamTrack | null = null;
	let stopped = false;
	const unavailable = () => {
		if (!stopped) sendBack({ type: 'mic.unavailable' });
	};
	void (async () => {
		let stream: MediaStream;
		try {
			// Throws (caught below) where there is no getUserMedia: no secure context, or none at all.
			const devices = navigator.mediaDevices;
			const ask = micRequest(navigator, camera?.getVideoTracks()[0] ?? null, videoConstraints);
			// The camera's part may be what failed (it went away, or refuses the size): the
			// microphone alone is still a call with sound.
			stream = await devices.getUserMedia(ask).catch((err: unknown) => {
				if (!ask.video) throw err;
				return devices.getUserMedia({ audio, video: false });
			});
		} catch {
			// A call without a microphone is still a video call; the call machine notes it.
			return unavailable();
		}
		const [mic] = stream.getAudioTracks();
		const [video] = stream.getVideoTracks();
		if (stopped || !mic) {
			stream.getTracks().forEach((t) => t.stop());
			return unavailable();
		}
		track = mic;
		// Handed over only live (a track that came back ended is no camera), video only: the
		// capture machine stops all of its stream's tracks when it lets go.
		let handed: MediaStream | null = null;
		if (video?.readyState === 'live') handed = new MediaStream([video]);
		else video?.stop();
		sendBack({ type: 'mic.ready', track, camera: handed });
	})();
	return () => {
		stopped = true;
		track?.stop();
	};
}
