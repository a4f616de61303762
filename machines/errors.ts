/**
 * Typed failure reasons and their mappers. Machines keep only `{ reason, message }` in context
 * (serialisable, shown by the inspector); raw DOMExceptions and PeerErrors stop here.
 * The `message` is English; the views translate by `reason` (src/lib/i18n) and fall back to it.
 */

export interface Failure<R extends string = string> {
	reason: R;
	message: string;
}

/** Why the camera could not be opened or stopped working. */
export type CaptureFailureReason =
	/** NotAllowedError: the user or the browser refused camera access. */
	| 'permission-denied'
	/** NotFoundError: no video input device at all. */
	| 'no-camera'
	/** NotReadableError / TrackStartError: another app holds the camera. */
	| 'camera-in-use'
	/** OverconstrainedError even after retrying with relaxed constraints. */
	| 'unsupported-constraint'
	/** No navigator.mediaDevices (plain http on a LAN address) or SecurityError. */
	| 'insecure-context'
	/** A secure page in a browser with no camera API for web pages at all. */
	| 'no-camera-api'
	/** AbortError: the device failed to start for a reason the browser would not say. */
	| 'aborted'
	/** The live track ended by itself: unplugged, permission revoked, OS took it. */
	| 'track-ended'
	/** A flip's camera would not open; the camera that worked is back on (a notice, not a
	 * failed state). */
	| 'flip-failed'
	| 'unknown';

export const captureMessages: Record<CaptureFailureReason, string> = {
	'permission-denied':
		'Camera access was blocked. Allow the camera for this site in the browser settings, then try again.',
	'no-camera': 'No camera was found on this device.',
	'camera-in-use': 'The camera is in use by another app. Close it, then try again.',
	'unsupported-constraint': 'This camera cannot provide a picture in any format the app asked for.',
	'insecure-context':
		'The camera needs a secure connection (https or localhost). Open the app through its https address.',
	'no-camera-api': 'This browser does not let web apps use a camera.',
	aborted: 'The camera failed to start. Try again.',
	'track-ended': 'The camera stopped (it was unplugged or access was revoked).',
	'flip-failed': 'Could not switch cameras; back to the previous one.',
	unknown: 'The camera could not be opened.'
};

export function errorName(err: unknown): string {
	if (err && typeof err === 'object' && 'name' in err) return String((err as { name: unknown }).name);
	return '';
}

/** Maps a getUserMedia rejection to a reason, the way LiveKit's MediaDeviceFailure does. */
export function captureFailure(err: unknown): Failure<CaptureFailureReason> {
	const reason = captureReason(err);
	return { reason, message: captureMessages[reason] };
}

function captureReason(err: unknown): CaptureFailureReason {
	switch (errorName(err)) {
		case 'NotAllowedError':
		case 'PermissionDeniedError':
			return 'permission-denied';
		case 'NotFoundError':
		case 'DevicesNotFoundError':
			return 'no-camera';
		case 'NotReadableError':
		case 'TrackStartError':
			return 'camera-in-use';
		case 'OverconstrainedError':
		case 'ConstraintNotSatisfiedError':
			return 'unsupported-constraint';
		case 'SecurityError':
		case 'InsecureContextError':
			return 'insecure-context';
		case 'AbortError':
			return 'aborted';
		default:
			return 'unknown';
	}
}

export function isOverconstrained(err: unknown): boolean {
	return captureReason(err) === 'unsupported-constraint';
}

/** Why signaling (the PeerJS Peer) is not open. One per PeerJS PeerErrorType, and
 * `config-unavailable`: this app's `/signaling.json` gave no usable config and none is
 * remembered (the app retries; it does not fall back to the public cloud). */
export type SignalingFailureReason =
	| 'config-unavailable'
	| 'unavailable-id'
	| 'invalid-id'
	| 'invalid-key'
	| 'network'
	| 'server-error'
	| 'socket-error'
	| 'socket-closed'
	| 'disconnected'
	| 'browser-incompatible'
	| 'ssl-unavailable'
	| 'webrtc'
	| 'unknown';

export const signalingMessages: Record<SignalingFailureReason, string> = {
	'config-unavailable':
		"This app's signaling server is not answering, and no earlier settings are saved. Retrying… (Your ID is not sent to any other server meanwhile.)",
	'unavailable-id': 'Your ID is in use somewhere else (another device or browser holds it).',
	'invalid-id': 'That ID is not valid for the signaling server.',
	'invalid-key': 'The signaling server rejected the API key.',
	network: 'Cannot reach the signaling server. Retrying…',
	'server-error': 'The signaling server had an error. Retrying…',
	'socket-error': 'The connection to the signaling server failed. Retrying…',
	'socket-closed': 'The signaling server closed the connection. Retrying…',
	disconnected: 'Disconnected from the signaling server. Retrying…',
	'browser-incompatible': 'This browser cannot make calls: it has no WebRTC.',
	'ssl-unavailable': 'The signaling server needs a secure connection that is not available.',
	webrtc: 'A WebRTC error occurred.',
	unknown: 'Signaling failed.'
};

/** Errors after which retrying with the same settings cannot help. */
export const fatalSignalingReasons: readonly SignalingFailureReason[] = [
	'unavailable-id',
	'invalid-id',
	'invalid-key',
	'browser-incompatible',
	'ssl-unavailable'
];

/** `/signaling.json` gave nothing usable: the reason, with what went wrong (`HTTP 503`, …) in the
 * message for the inspector. */
export function configFailure(err: unknown): Failure<SignalingFailureReason> {
	const detail = err && typeof err === 'object' && 'detail' in err ? String((err as { detail: unknown }).detail).slice(0, 80) : '';
	const message = signalingMessages['config-unavailable'];
	return { reason: 'config-unavailable', message: detail ? `${message} (/signaling.json: ${detail})` : message };
}

export function signalingFailure(type: string | undefined): Failure<SignalingFailureReason> {
	// Own keys only: `toString` or `constructor` is no reason.
	const reason = (type && Object.hasOwn(signalingMessages, type) ? type : 'unknown') as SignalingFailureReason;
	return { reason, message: signalingMessages[reason] };
}

/** How a call ended (final state `ended`) or why it failed (final state `failed`). */
export type CallEndReason =
	/** This side hung up. */
	| 'hung-up'
	/** The far side hung up (PeerJS closes the call on both sides). */
	| 'remote-hung-up'
	/** The far side declined the incoming call. */
	| 'declined'
	/** This side declined an incoming call. */
	| 'declined-by-me'
	/** Accepted, but no working connection came up within `connectTimeout`. */
	| 'connection-failed'
	/** The browser could not apply the far side's offer, answer or candidates. */
	| 'negotiation-failed'
	/** The far side is in another call. */
	| 'busy'
	/** Nobody answered within `ringTimeout`. */
	| 'no-answer'
	/** Nobody answered in time (ours, or the caller's that ran out first). */
	| 'missed'
	/** The caller hung up while this side was ringing. */
	| 'missed-cancelled'
	/** The signaling server knows no peer with that ID. */
	| 'peer-unavailable'
	/** Media stopped and recovery did not bring it back. */
	| 'connection-lost'
	/** The microphone/camera or the connection's media could not be set up. */
	| 'media-error'
	/** Signaling was not open, so the call could not be placed. */
	| 'not-connected';

export const callMessages: Record<CallEndReason, string> = {
	'hung-up': 'Call ended.',
	'remote-hung-up': 'The other person hung up.',
	declined: 'The call was declined.',
	'declined-by-me': 'You declined the call.',
	'connection-failed': 'The call could not connect. Check both networks and try again.',
	'negotiation-failed': 'The call could not be set up between these two browsers.',
	busy: 'The other person is busy in another call.',
	'no-answer': 'No answer.',
	missed: 'Missed call: not answered in time.',
	'missed-cancelled': 'Missed call: they hung up before you answered.',
	'peer-unavailable': 'Nobody is online with that ID. Check the ID and try again.',
	'connection-lost': 'The connection was lost.',
	'media-error': 'The call could not set up its media.',
	'not-connected': 'Not connected to the signaling server yet. Try again in a moment.'
};

export function callFailure(reason: CallEndReason): Failure<CallEndReason> {
	return { reason, message: callMessages[reason] };
}

/** Why a photo could not be taken, saved, sent or received. */
export type PhotoFailureReason =
	/** The shutter was pressed with no live camera track. */
	| 'not-live'
	/** Neither ImageCapture nor the canvas fallback produced an image. */
	| 'capture-failed'
	/** QuotaExceededError: the browser's storage for this site is full. */
	| 'storage-full'
	/** IndexedDB is unavailable (private mode, blocked) or the write failed otherwise. */
	| 'storage-failed'
	/** Sending needs a connected call. */
	| 'not-in-call'
	/** The photo is no longer in the gallery. */
	| 'not-found'
	/** The far side did not open the photo connection in time, or refused it. */
	| 'peer-unreachable'
	/** The connection closed or stalled before every byte arrived. */
	| 'transfer-failed'
	/** Sending: the photo is over the per-photo limit (bytes or pixels). */
	| 'too-large'
	/** Sending: the receiver is busy with another photo. */
	| 'peer-busy'
	/** Sending: the receiver's person declined photos in this call, or did not answer. */
	| 'peer-declined'
	/** Sending: the receiver's per-call limit is reached. */
	| 'peer-limit'
	/** Sending: the receiver found the bytes are not an image. */
	| 'peer-not-image'
	/** Sending: every byte arrived, but the receiver could not store it. */
	| 'peer-not-saved'
	/** Receiving: refused, over the per-photo limit. */
	| 'refused-too-large'
	/** Receiving: refused, this call's limit is reached. */
	| 'refused-limit'
	/** Receiving: refused, the bytes are not an image that decodes. */
	| 'refused-not-image';

// The photo reasons' messages and mappers are in photo.errors.ts: only the photo machine, which
// loads on first use, needs them, and this module is in the first load.
