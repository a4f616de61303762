/**
 * Zoom and torch for a camera that reports them (./camera-caps.ts): the arithmetic of the slider
 * and the pinch, the photo's matching fill light, and the one actor that changes the track
 * (`applyConstraints`). Loaded only with the controls (or the photo code).
 */
import { fromCallback } from 'xstate';
import type { CameraControls, ZoomRange } from './camera-caps';

/** What the controls are set to now, as the track reports it. */
export interface CameraTuning {
	zoom: number | null;
	torch: boolean;
}

/** The track's current zoom and torch (getSettings), within what it offers. */
export function cameraTuning(settings: unknown, controls: CameraControls): CameraTuning {
	const s = (settings ?? {}) as { zoom?: number; torch?: boolean };
	const zoom = controls.zoom ? snapZoom(controls.zoom, Number.isFinite(s.zoom) ? s.zoom! : controls.zoom.min) : null;
	return { zoom, torch: controls.torch && s.torch === true };
}

/** A zoom inside the range, on its steps (a slider or a pinch may ask for anything). */
export function snapZoom(range: ZoomRange, value: number): number {
	if (!Number.isFinite(value)) return range.min;
	const clamped = Math.min(range.max, Math.max(range.min, value));
	const snapped = range.min + Math.round((clamped - range.min) / range.step) * range.step;
	// Steps like 0.1 leave float dust (1.2000000000000002); keep what a person would read.
	return Math.min(range.max, Number(snapped.toFixed(6)));
}

/** Pinch: the zoom at the pinch's start scaled by how far the fingers spread since. */
export function pinchZoom(range: ZoomRange, startZoom: number, startDistance: number, distance: number): number {
	if (!(startDistance > 0) || !(distance > 0)) return snapZoom(range, startZoom);
	return snapZoom(range, startZoom * (distance / startDistance));
}

/**
 * The photo's fill light to match the torch: with the torch on the photo is lit (`flash`), with
 * it off the camera must not fire a flash of its own (`off`). Undefined where the camera
 * reports no fill-light modes (then takePhoto gets no setting for it).
 */
export function fillLightFor(torch: boolean, modes: readonly string[] | undefined): 'flash' | 'off' | undefined {
	const want = torch ? 'flash' : 'off';
	return modes?.includes(want) ? want : undefined;
}

/**
 * `camera.tune { zoom?, torch? }`: from the capture machine: set these on the live track.
 */
export type TuneCommand = { type: 'camera.tune'; zoom?: number; torch?: boolean };

/**
 * `camera.tuned { zoom, torch }`: what the track reports after the last change went through
 * (or was refused): the capture machine keeps this as the truth.
 */
export type TunedEvent = { type: 'camera.tuned' } & CameraTuning;

/**
 * Applies zoom and torch to the live track, one `applyConstraints` at a time: a pinch sends
 * dozens of zooms a second, and only the newest one still waiting matters.
 */
export const cameraTuner = fromCallback<TuneCommand, { stream: MediaStream | null; controls: CameraControls }>(
	({ input, receive, sendBack }) => {
		const track = input.stream?.getVideoTracks()[0];
		let pending: { zoom?: number; torch?: boolean } | null = null;
		let busy = false;
		let stopped = false;
		const run = async () => {
			busy = true;
			while (pending && track && !stopped) {
				const next = pending;
				pending = null;
				const advanced: Record<string, unknown> = {};
				if (next.zoom !== undefined) advanced.zoom = next.zoom;
				if (next.torch !== undefined) advanced.torch = next.torch;
				// Refused (another app holds the torch, a zoom the camera will not take): the
				// settings read below say what the track does now.
				await track.applyConstraints({ advanced: [advanced as MediaTrackConstraintSet] }).catch(() => {});
			}
			busy = false;
			if (!stopped && track) sendBack({ type: 'camera.tuned', ...cameraTuning(track.getSettings(), input.controls) } satisfies TunedEvent);
		};
		// What the track is set to now (a camera may open zoomed, or with the torch still on).
		if (track) sendBack({ type: 'camera.tuned', ...cameraTuning(track.getSettings(), input.controls) } satisfies TunedEvent);
		receive((command) => {
			if (command.type !== 'camera.tune') return;
			pending = { ...pending, ...(command.zoom !== undefined && { zoom: command.zoom }), ...(command.torch !== undefined && { torch: command.torch }) };
			if (!busy) void run();
		});
		return () => {
			stopped = true;
		};
	}
);
