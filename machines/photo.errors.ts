/**
 * Messages and mappers for PhotoFailureReason (declared in errors.ts). Kept apart from
 * errors.ts, which every page loads first, because only the photo machine uses them and it is
 * loaded on first use (DESIGN.md budgets). Same rules as errors.ts: English here, the views
 * translate by reason.
 */
import { errorName, type Failure, type PhotoFailureReason } from './errors';

export const photoMessages: Record<PhotoFailureReason, string> = {
	'not-live': 'The camera is not on. Start it, then take the photo.',
	'capture-failed': 'The photo could not be taken. Try again.',
	'storage-full':
		'The photo could not be saved: storage for this app is full. Delete some photos (or download them first), then try again. Your saved photos are safe.',
	'storage-failed': 'The photo could not be saved: this browser would not let the app store it.',
	'not-in-call': 'Sending a photo needs a connected call.',
	'not-found': 'That photo is no longer in the gallery.',
	'peer-unreachable': 'The other person could not take the photo right now.',
	'transfer-failed': 'The photo transfer was interrupted.',
	'too-large': 'This photo is too large to send in a call (over 15 MB or 50 megapixels).',
	'peer-busy': 'The other person is receiving another photo. Try again in a moment.',
	'peer-declined': 'The other person did not accept photos in this call.',
	'peer-limit': 'The other person can take no more photos in this call (20 photos or 100 MB).',
	'peer-not-image': 'The other person’s app refused it: it is not a photo it can open.',
	'peer-not-saved': 'The photo arrived, but the other person’s device could not save it.',
	'refused-too-large': 'A photo was refused: it was over 15 MB or 50 megapixels.',
	'refused-limit': 'More photos were refused: this call has reached its limit of 20 photos or 100 MB.',
	'refused-not-image': 'A file that was not a photo was refused.'
};

export function photoFailure(reason: PhotoFailureReason): Failure<PhotoFailureReason> {
	return { reason, message: photoMessages[reason] };
}

/** Maps an IndexedDB error (the aborted transaction's error): QuotaExceededError is the one
 * the user can act on. */
export function storageFailure(err: unknown): Failure<PhotoFailureReason> {
	return photoFailure(errorName(err) === 'QuotaExceededError' ? 'storage-full' : 'storage-failed');
}

/** Maps a capture rejection: a track that is not live is its own reason. */
export function shotFailure(err: unknown): Failure<PhotoFailureReason> {
	const name = errorName(err);
	if (name === 'NotLiveError' || name === 'InvalidStateError') return photoFailure('not-live');
	return photoFailure('capture-failed');
}
