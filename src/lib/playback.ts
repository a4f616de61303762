/**
 * Whether the far side's video is playing, or waits for a tap. It plays with its sound, and a
 * browser may refuse that without a gesture on the page: iOS Safari does for any media with
 * sound, others when the page had no user activation (play() rejects with NotAllowedError, and
 * `autoplay` silently does nothing). Then the call screen shows a "Tap to play" button; a tap is
 * the gesture that lets play() through. Loaded with the call screen, not the first load.
 */

/** What this needs of a <video>. */
export interface PlayableVideo extends EventTarget {
	readonly paused: boolean;
	readonly srcObject: unknown;
	play(): Promise<void>;
}

/**
 * Whether a refused play() is one a tap fixes: NotAllowedError (the autoplay policy). Not an
 * interrupted load (AbortError: a new stream came, which is played in turn) nor a source the
 * browser cannot play (NotSupportedError): a tap would not help there.
 */
export function needsTap(err: unknown): boolean {
	return (err as { name?: unknown } | null)?.name === 'NotAllowedError';
}

/**
 * Follows `video`: tries to play it whenever it has a stream and is paused (at once, and each
 * time a stream's metadata arrives), and reports `blocked(true)` when the browser refuses
 * without a tap, `blocked(false)` once it plays. Returns the cleanup.
 */
export function followPlayback(video: PlayableVideo, blocked: (value: boolean) => void): () => void {
	let stopped = false;
	const report = (value: boolean) => {
		if (!stopped) blocked(value);
	};
	const attempt = () => {
		if (!video.paused || !video.srcObject) return;
		video.play().then(
			() => report(false),
			(err: unknown) => {
				if (needsTap(err)) report(true);
			}
		);
	};
	const playing = () => report(false);
	video.addEventListener('loadedmetadata', attempt);
	video.addEventListener('playing', playing);
	attempt();
	return () => {
		stopped = true;
		video.removeEventListener('loadedmetadata', attempt);
		video.removeEventListener('playing', playing);
	};
}
