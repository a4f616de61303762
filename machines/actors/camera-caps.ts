/**
 * Zoom and torch as a camera track reports them (`getCapabilities()`): the only part of the
 * camera controls in the first load. Most cameras report neither (laptops, the test browser,
 * iPhones); Android phones' back cameras usually report both. The controls themselves, and
 * what applies them, load only for a camera that has one (./camera-tuning.ts).
 */

export interface ZoomRange {
	min: number;
	max: number;
	step: number;
}

/** The controls a camera offers: null / false where the track does not report them. */
export interface CameraControls {
	zoom: ZoomRange | null;
	torch: boolean;
}

interface ReportedCapabilities {
	zoom?: { min?: number; max?: number; step?: number };
	torch?: boolean | boolean[];
}

/**
 * The controls worth showing for a track's capabilities. Zoom needs a real range (some cameras
 * report min = max = 1); torch is `true`, or on some builds a list of supported values.
 */
export function cameraControls(caps: unknown): CameraControls {
	const { zoom, torch } = (caps && typeof caps === 'object' ? caps : {}) as ReportedCapabilities;
	let range: ZoomRange | null = null;
	if (zoom && Number.isFinite(zoom.min) && Number.isFinite(zoom.max) && zoom.max! > zoom.min!) {
		const step = Number.isFinite(zoom.step) && zoom.step! > 0 ? zoom.step! : (zoom.max! - zoom.min!) / 100;
		range = { min: zoom.min!, max: zoom.max!, step };
	}
	return { zoom: range, torch: torch === true || (Array.isArray(torch) && torch.includes(true)) };
}
