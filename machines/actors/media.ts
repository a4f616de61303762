/**
 * The camera and permission actors: with ./microphone.ts (the call's microphone), the only code
 * that calls navigator.mediaDevices and navigator.permissions. Each one maps browser errors
 * before they reach a machine.
 */
import { fromCallback, fromPromise } from 'xstate';
import { cameraControls, type CameraControls } from './camera-caps';
import { isOverconstrained } from '../errors';

export type Facing = 'user' | 'environment';
export type PermissionValue = 'granted' | 'denied' | 'prompt';

export interface CameraDevice {
	deviceId: string;
	label: string;
}

/** What the capture machine keeps about the open camera (besides the stream itself). */
export interface CameraInfo {
	deviceId: string;
	label: string;
	width: number;
	height: number;
	/** Reported facing, or the one inferred from the label; null when unknown. */
	facing: Facing | null;
	/** Mirror the preview: only for a user-facing camera. */
	mirrored: boolean;
	/** Zoom and torch, where the track reports them (getCapabilities). */
	controls: CameraControls;
}

export interface OpenCameraInput {
	/** Preferred facing; `ideal`, never `exact` (exact fails on laptops and the test browser). */
	facing: Facing;
	/** When set, open exactly this device (the deviceId fallback for flips). */
	deviceId?: string | null;
	/** After an OverconstrainedError: ask for any video at all. */
	relaxed: boolean;
	/** The stream being replaced: its video track is stopped before the next camera opens,
	 * because Android refuses two cameras at once. */
	previous?: MediaStream | null;
}

export interface OpenCameraOutput {
	stream: MediaStream;
	info: CameraInfo;
	devices: CameraDevice[];
}

export function stopStream(stream: MediaStream | null | undefined): void {
	stream?.getTracks().forEach((track) => track.stop());
}

function mediaDevices(): MediaDevices {
	if (typeof navigator === 'undefined' || !navigator.mediaDevices?.getUserMedia) {
		throw new DOMException('navigator.mediaDevices is unavailable', 'SecurityError');
	}
	return navigator.mediaDevices;
}

export function videoConstraints(input: OpenCameraInput): MediaTrackConstraints | true {
	if (input.deviceId) return input.relaxed ? { deviceId: { exact: input.deviceId } } : {
		deviceId: { exact: input.deviceId },
		width: { ideal: 1280 },
		height: { ideal: 720 }
	};
	if (input.relaxed) return true;
	return { facingMode: { ideal: input.facing }, width: { ideal: 1280 }, height: { ideal: 720 } };
}

const backLabel = /back|rear|environment|world/i;
const frontLabel = /front|user|face/i;

function describe(track: MediaStreamTrack, requested: Facing): CameraInfo {
	const settings = track.getSettings();
	const reported = settings.facingMode;
	let facing: Facing | null = null;
	if (reported === 'user' || reported === 'environment') facing = reported;
	else if (backLabel.test(track.label)) facing = 'environment';
	else if (frontLabel.test(track.label)) facing = 'user';
	// A camera that says nothing about its facing is, on laptops and desktops, a webcam that
	// looks at the user: mirror it like the front camera unless we asked for the back one.
	const mirrored = (facing ?? requested) === 'user';
	// Firefox has no getCapabilities(); some builds throw for a track that is not yet producing.
	let caps: unknown = null;
	try {
		caps = track.getCapabilities?.();
	} catch {
		/* none reported */
	}
	const controls = cameraControls(caps);
	return {
		deviceId: settings.deviceId ?? '',
		label: track.label,
		width: settings.width ?? 0,
		height: settings.height ?? 0,
		facing,
		mirrored,
		controls
	};
}

export async function listCameras(): Promise<CameraDevice[]> {
	const all = await mediaDevices().enumerateDevices();
	return all
		.filter((d) => d.kind === 'videoinput' && d.deviceId)
		.map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Camera ${i + 1}` }));
}

/**
 * WebKit (Safari's engine) answers a device with no camera at all with OverconstrainedError
 * ("Invalid constraint"), even for `{ video: true }`, not NotFoundError: when the device lists
 * no video input, that is what it means, and the person is told there is no camera instead of
 * that the camera cannot make a picture. Any other rejection passes through unchanged.
 */
export async function explainRefusal(err: unknown, devices: Pick<MediaDevices, 'enumerateDevices'>): Promise<unknown> {
	if (!isOverconstrained(err)) return err;
	const listed = await devices.enumerateDevices().catch(() => null);
	if (listed && !listed.some((d) => d.kind === 'videoinput')) return new DOMException('No camera is connected', 'NotFoundError');
	return err;
}

/** Opens the camera, video only: the preview must not light the microphone indicator. */
export const openCamera = fromPromise<OpenCameraOutput, OpenCameraInput>(async ({ input }) => {
	const devices = mediaDevices();
	input.previous?.getVideoTracks().forEach((t) => t.stop());
	const stream = await devices.getUserMedia({ video: videoConstraints(input), audio: false }).catch(async (err: unknown) => {
		throw await explainRefusal(err, devices);
	});
	const track = stream.getVideoTracks()[0];
	const info = describe(track, input.facing);
	return { stream, info, devices: await listCameras().catch(() => []) };
});

export type CameraWatchEvent =
	| { type: 'camera.trackEnded' }
	| { type: 'camera.devices'; devices: CameraDevice[] };

/** Watches the live track (ended by itself) and the device list (plug/unplug). */
export const watchCamera = fromCallback<{ type: string }, { stream: MediaStream | null }>(
	({ input, sendBack }) => {
		const track = input.stream?.getVideoTracks()[0];
		const onEnded = () => sendBack({ type: 'camera.trackEnded' } satisfies CameraWatchEvent);
		const onDeviceChange = () => {
			listCameras()
				.then((devices) => sendBack({ type: 'camera.devices', devices } satisfies CameraWatchEvent))
				.catch(() => {});
		};
		track?.addEventListener('ended', onEnded);
		const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
		md?.addEventListener?.('devicechange', onDeviceChange);
		return () => {
			track?.removeEventListener('ended', onEnded);
			md?.removeEventListener?.('devicechange', onDeviceChange);
		};
	}
);

/**
 * - `page.hidden`: the page went to the background (another app or tab, the screen locked).
 * - `page.visible`: it is in the foreground again.
 */
export type PageEvent = { type: 'page.hidden' } | { type: 'page.visible' };

/** Follows the page's visibility (`visibilitychange`); a page that starts hidden (opened in a
 * background tab) says so at once. */
export const pageVisibility = fromCallback<{ type: string }>(({ sendBack }) => {
	if (typeof document === 'undefined') return () => {};
	const report = () =>
		sendBack({ type: document.visibilityState === 'hidden' ? 'page.hidden' : 'page.visible' } satisfies PageEvent);
	if (document.visibilityState === 'hidden') report();
	document.addEventListener('visibilitychange', report);
	return () => document.removeEventListener('visibilitychange', report);
});

export type PermissionEvent =
	| { type: 'permission.changed'; state: PermissionValue }
	| { type: 'permission.unknown' }
	| { type: 'permission.unsupported' };

/**
 * Reads the camera permission and follows its `change` events. Browsers whose Permissions API
 * lacks `camera` (Firefox, older Safari) report `permission.unknown`: the app then asks on a tap
 * and learns the answer from getUserMedia's outcome.
 */
export const permissionStatus = fromCallback<{ type: string }>(({ sendBack }) => {
	if (typeof navigator === 'undefined' || !navigator.mediaDevices?.getUserMedia) {
		sendBack({ type: 'permission.unsupported' } satisfies PermissionEvent);
		return () => {};
	}
	let status: PermissionStatus | null = null;
	let stopped = false;
	const onChange = () => {
		if (status) sendBack({ type: 'permission.changed', state: status.state } satisfies PermissionEvent);
	};
	const query = navigator.permissions?.query?.({ name: 'camera' as PermissionName });
	if (!query) {
		sendBack({ type: 'permission.unknown' } satisfies PermissionEvent);
	} else {
		query.then(
			(s) => {
				if (stopped) return;
				status = s;
				s.addEventListener('change', onChange);
				onChange();
			},
			() => sendBack({ type: 'permission.unknown' } satisfies PermissionEvent)
		);
	}
	return () => {
		stopped = true;
		status?.removeEventListener('change', onChange);
	};
});
