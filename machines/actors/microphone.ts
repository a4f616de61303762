/**
 * The call's microphone as an actor: opened at call time (dial or accept), never on the camera
 * screen, and stopped when the call ends, whatever state it is in. The work (and on WebKit the
 * camera reopened with it) is in ./microphone-io.ts, imported when the microphone is first asked
 * for, or ahead of the first call once the page is idle; stopped before that import arrives,
 * nothing opens.
 */
import { fromCallback } from 'xstate';
import { videoConstraints } from './media';
import { lazyModule } from './lazy';

/** The microphone's work: loaded ahead of the first call (actors/call-extras.ts), so the
 * request goes out in the step that asks for it. */
export const microphoneIo = lazyModule(() => import('./microphone-io'));

/**
 * `mic.open { camera }`: open the microphone now; `camera` is the call's camera stream (null
 * without one), which WebKit reopens with it.
 */
export type MicCommand = { type: 'mic.open'; camera: MediaStream | null };

/**
 * - `mic.ready { track, camera }`: the microphone is open; the call sends this track. `camera`:
 *   the camera reopened with it (WebKit; a video-only stream), now the call's and the
 *   preview's; null elsewhere.
 * - `mic.unavailable`: no microphone, or permission refused (or, offline before it was cached,
 *   its code would not load): the call goes on with video only.
 */
export type MicEvent = { type: 'mic.ready'; track: MediaStreamTrack; camera: MediaStream | null } | { type: 'mic.unavailable' };

export const microphone = fromCallback<MicCommand, void, MicEvent>(({ sendBack, receive }) => {
	let stop: (() => void) | null = null;
	let stopped = false;
	receive(({ camera }) => {
		if (stop) return;
		stop = () => {};
		// (What is sent back after the actor stopped goes nowhere: XState drops it.)
		microphoneIo.use(
			(m) => {
				if (!stopped) stop = m.openMicrophone(camera, sendBack, videoConstraints);
			},
			() => sendBack({ type: 'mic.unavailable' })
		);
	});
	return () => {
		stopped = true;
		stop?.();
	};
});
