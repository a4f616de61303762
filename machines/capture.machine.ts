import { assign, sendParent, setup } from 'xstate';
import { captureFailure, isOverconstrained, captureMessages, type CaptureFailureReason, type Failure } from './errors';
import {
	openCamera,
	pageVisibility,
	stopStream,
	watchCamera,
	type PageEvent,
	type CameraDevice,
	type CameraInfo,
	type Facing,
	type OpenCameraOutput
} from './actors/media';

/**
 * Events:
 * - `camera.start`: user tapped "start camera" (or the session saw permission already granted).
 * - `camera.flip`: switch between front and back (or the next device where facing is unknown).
 * - `camera.retry`: from `failed`, try again with the last camera asked for (after a failed flip,
 *   the one that worked).
 * - `camera.stop`: release the camera.
 * - `camera.trackEnded`: the live track ended by itself (unplugged, permission revoked).
 * - `camera.devices { devices }`: the list of video inputs changed (`devicechange`).
 * - `camera.inCall { inCall }`: from the session: a call is ringing or under way (the camera
 *   stays on even when the page is hidden), or there is none.
 * - `camera.micOpening`: from the session: a call is opening its microphone. On iOS that
 *   request can end the preview's track (on WebKit the call asks for the camera with it).
 * - `call.micOpened { stream }`: the call's report, passed on by the session: that request is
 *   over (or the call ended first); `stream`: the camera stream the call sends now. A new one
 *   (WebKit: the camera reopened with the microphone) is this machine's to keep from now on.
 * - `page.hidden` / `page.visible` (PageEvent): the page went to the background or came back.
 *   Outside a call a hidden page releases the camera (`idle.suspended`) and reopens it once
 *   visible: a camera left on in the background is a privacy leak and drains the battery.
 */
export type CaptureEvent =
	| { type: 'camera.start' }
	| { type: 'camera.flip' }
	| { type: 'camera.retry' }
	| { type: 'camera.stop' }
	| { type: 'camera.trackEnded' }
	| { type: 'camera.devices'; devices: CameraDevice[] }
	| { type: 'camera.inCall'; inCall: boolean }
	| { type: 'camera.micOpening' }
	| { type: 'call.micOpened'; stream: MediaStream | null }
	| PageEvent;

export interface CaptureContext {
	stream: MediaStream | null;
	info: CameraInfo | null;
	devices: CameraDevice[];
	/** The facing asked for next (flip toggles it). */
	facing: Facing;
	/** The device asked for next, when flipping by deviceId. */
	deviceId: string | null;
	/** Set after an OverconstrainedError: the one retry asks for any video. */
	relaxed: boolean;
	/** What opened the last camera that worked (facing, deviceId, relaxed as asked): a flip whose
	 * camera fails goes back to it, and so does a retry after that. */
	working: CameraRequest | null;
	failure: Failure<CaptureFailureReason> | null;
	/** A notice while the camera is live: `flip-failed` after a flip fell back to the camera
	 * that worked. Cleared when a camera opens normally. */
	notice: Failure<CaptureFailureReason> | null;
	/** The page is in the background (PageEvent). */
	hidden: boolean;
	/** A call is ringing or under way: the camera stays on while the page is hidden. */
	inCall: boolean;
}

type MicOpened = Extract<CaptureEvent, { type: 'call.micOpened' }>;

/** A camera as the capture machine asks for it. */
export interface CameraRequest {
	facing: Facing;
	deviceId: string | null;
	relaxed: boolean;
}

/** The next camera for a flip: the other facing where the camera reports one, else the next
 * device in the list (laptops and the test browser report no facing). */
export function flipTarget(ctx: CaptureContext): { facing: Facing; deviceId: string | null } {
	const other: Facing = ctx.facing === 'user' ? 'environment' : 'user';
	if (ctx.info?.facing && ctx.devices.length <= 2) {
		// Two cameras with known facing (a phone): ask by facing, which survives deviceId churn.
		return { facing: other, deviceId: null };
	}
	const ids = ctx.devices.map((d) => d.deviceId);
	// Stryker disable next-line StringLiteral: any string that is no deviceId finds nothing (listCameras drops empty ones)
	const current = ids.indexOf(ctx.info?.deviceId ?? '');
	const next = ids[(current + 1) % ids.length] ?? null;
	return { facing: other, deviceId: next };
}

/** The camera reopened with the call's microphone (WebKit) replaces the live one, which is
 * stopped only now that the new one is live; `live` starts over on it (watched, reported). */
const handOver = {
	guard: 'handedOver',
	target: '#capture.live',
	reenter: true,
	actions: ['releaseCamera', 'adoptCamera']
} as const;

// Stryker (npm run mutation) skips the mutants marked below: they cannot change what the
// machine does, so no test could tell them apart.
export const captureMachine = setup({
	// Stryker disable next-line ObjectLiteral: types only inform TypeScript
	types: {
		context: {} as CaptureContext,
		events: {} as CaptureEvent
	},
	actors: { openCamera, watchCamera, pageVisibility },
	guards: {
		canFlip: ({ context }) => context.devices.length > 1,
		/** Hidden outside a call: the camera is not needed. */
		backgrounded: ({ context }) => context.hidden && !context.inCall,
		visible: ({ context }) => !context.hidden,
		// Only reported while this machine waits, with its own stream or a live reopened one.
		handedOver: ({ context, event }) => (event as MicOpened).stream !== context.stream,
		overconstrainedFirstTime: ({ context, event }) =>
			!context.relaxed && isOverconstrained((event as { error?: unknown }).error)
	},
	actions: {
		assignOpened: assign(({ context, event }) => {
			const out = (event as unknown as { output: OpenCameraOutput }).output;
			return {
				stream: out.stream,
				info: out.info,
				devices: out.devices.length ? out.devices : [{ deviceId: out.info.deviceId, label: out.info.label }],
				working: { facing: context.facing, deviceId: context.deviceId, relaxed: context.relaxed },
				relaxed: false,
				failure: null,
				notice: null
			};
		}),
		/** Ask for the camera that worked again (the flip's camera would not open). */
		restoreWorking: assign(({ context }) => context.working ?? {}),
		noteFlipFailed: assign({
			notice: { reason: 'flip-failed', message: captureMessages['flip-failed'] } as Failure<CaptureFailureReason>
		}),
		assignFailure: assign(({ event }) => ({
			failure: captureFailure((event as { error?: unknown }).error),
			stream: null,
			info: null,
			relaxed: false
		})),
		assignTrackEnded: assign({
			failure: { reason: 'track-ended', message: captureMessages['track-ended'] } as Failure<CaptureFailureReason>
		}),
		assignFlipTarget: assign(({ context }) => flipTarget(context)),
		releaseCamera: ({ context }) => stopStream(context.stream),
		/** The camera the call's microphone request reopened (WebKit): kept from now on. */
		adoptCamera: assign({ stream: ({ event }) => (event as MicOpened).stream }),
		/** A reopened camera that came when none is live (stopped, or a flip under way): not kept. */
		refuseCamera: ({ context, event }) => {
			const { stream } = event as MicOpened;
			if (stream !== context.stream) stopStream(stream);
		},
		clearStream: assign({ stream: null, info: null }),
		/** The session forwards the new track to a call (replaceTrack) and the outcome to the
		 * permission machine. */
		reportLive: sendParent(({ context }) => ({ type: 'capture.live', stream: context.stream })),
		reportFailed: sendParent(({ context }) => ({ type: 'capture.failed', failure: context.failure }))
	}
}).createMachine({
	id: 'capture',
	context: {
		stream: null,
		info: null,
		// Stryker disable next-line ArrayDeclaration: replaced by the first open before anything reads it
		devices: [],
		facing: 'user',
		deviceId: null,
		relaxed: false,
		working: null,
		failure: null,
		notice: null,
		hidden: false,
		inCall: false
	},
	invoke: {
		src: 'pageVisibility',
		// Stryker disable next-line StringLiteral: nothing addresses an invoked actor by id
		id: 'pageVisibility'
	},
	// The facts the suspend rule reads; the states below act on them (`always`), whichever
	// arrives first and in whatever state the camera is.
	on: {
		'page.hidden': { actions: assign({ hidden: true }) },
		'page.visible': { actions: assign({ hidden: false }) },
		'camera.inCall': { actions: assign({ inCall: ({ event }) => event.inCall }) },
		'call.micOpened': { actions: 'refuseCamera' }
	},
	initial: 'idle',
	states: {
		// data-capture shows `idle` for both: no camera is open in either.
		idle: {
			initial: 'off',
			states: {
				off: {
					on: {
						'camera.start': [
							{
								guard: 'backgrounded',
								target: 'suspended',
								// Stryker disable next-line StringLiteral: descriptions only label the chart
								description: 'Asked while hidden outside a call (a background tab): open it once visible'
							},
							{ target: '#capture.acquiring' }
						]
					}
				},
				suspended: {
					// Stryker disable next-line StringLiteral: descriptions only label the chart
					description: 'Released while the page is hidden outside a call; reopened when it is visible again',
					always: {
						guard: 'visible',
						target: '#capture.acquiring',
						// Stryker disable next-line StringLiteral: descriptions only label the chart
						description: 'Visible again: reopen the camera that was live'
					},
					on: { 'camera.stop': 'off' }
				}
			}
		},
		acquiring: {
			invoke: {
				src: 'openCamera',
				// Stryker disable next-line StringLiteral: nothing addresses an invoked actor by id
				id: 'openCamera',
				input: ({ context }) => ({
					facing: context.facing,
					deviceId: context.deviceId,
					relaxed: context.relaxed,
					previous: context.stream
				}),
				onDone: { target: 'live', actions: 'assignOpened' },
				onError: [
					{
						guard: 'overconstrainedFirstTime',
						target: 'acquiring',
						reenter: true,
						actions: assign({ relaxed: true }),
						// Stryker disable next-line StringLiteral: descriptions only label the chart
						description: 'OverconstrainedError: retry once asking for any video'
					},
					{ target: 'failed', actions: 'assignFailure' }
				]
			}
		},
		live: {
			entry: 'reportLive',
			// Also taken on arrival: a camera that finished opening (or flipping) after the page
			// was hidden is released at once.
			always: {
				guard: 'backgrounded',
				target: 'idle.suspended',
				actions: ['releaseCamera', 'clearStream'],
				// Stryker disable next-line StringLiteral: descriptions only label the chart
				description: 'Hidden outside a call: release the camera'
			},
			invoke: {
				src: 'watchCamera',
				// Stryker disable next-line StringLiteral: nothing addresses an invoked actor by id
				id: 'watchCamera',
				input: ({ context }) => ({ stream: context.stream })
			},
			on: {
				'camera.flip': { guard: 'canFlip', target: 'switching', actions: 'assignFlipTarget' },
				'camera.devices': { actions: assign({ devices: ({ event }) => event.devices }) },
				'camera.trackEnded': {
					target: 'failed',
					actions: [
						'assignTrackEnded',
						// The ended track is the stream's only one, so this changes nothing today; kept
						// for a stream that ever carries more.
						// Stryker disable next-line StringLiteral: see above
						'releaseCamera',
						'clearStream'
					],
					// Stryker disable next-line StringLiteral: descriptions only label the chart
					description: 'The track ended by itself: unplugged, revoked, or taken by the OS'
				},
				'camera.stop': { target: 'idle.off', actions: ['releaseCamera', 'clearStream'] }
			},
			initial: 'steady',
			states: {
				steady: {
					on: { 'camera.micOpening': 'awaitingMic' }
				},
				awaitingMic: {
					// Stryker disable next-line StringLiteral: descriptions only label the chart
					description:
						"A call opens its microphone, which on iOS can end this track: an end waits for the request's outcome (a camera reopened with it, or none: reopen this one)",
					on: {
						'call.micOpened': [handOver, 'steady'],
						// Ended by that request: wait for its outcome rather than fail.
						'camera.trackEnded': 'trackLost'
					}
				},
				trackLost: {
					// Stryker disable next-line StringLiteral: descriptions only label the chart
					description: 'The camera ended while the microphone opened: kept waiting for the request, never failed',
					on: {
						// No camera came with the microphone: reopen it rather than leave a black preview.
						'call.micOpened': [handOver, '#capture.acquiring']
					}
				}
			}
		},
		switching: {
			initial: 'opening',
			states: {
				opening: {
					invoke: {
						src: 'openCamera',
						// Stryker disable next-line StringLiteral: nothing addresses an invoked actor by id
						id: 'switchCamera',
						// openCamera stops the old video track first: Android refuses two cameras at once.
						input: ({ context }) => ({
							facing: context.facing,
							deviceId: context.deviceId,
							relaxed: false,
							previous: context.stream
						}),
						onDone: { target: '#capture.live', actions: 'assignOpened' },
						onError: {
							target: 'reverting',
							actions: ['restoreWorking', 'noteFlipFailed'],
							// Stryker disable next-line StringLiteral: descriptions only label the chart
							description: 'The other camera would not open: go back to the one that worked'
						}
					}
				},
				reverting: {
					invoke: {
						src: 'openCamera',
						// Stryker disable next-line StringLiteral: nothing addresses an invoked actor by id
						id: 'revertCamera',
						// The old track is already stopped (or is stopped now, if the flip failed
						// before it got that far): reopen the camera that worked.
						input: ({ context }) => ({
							facing: context.facing,
							deviceId: context.deviceId,
							relaxed: context.relaxed,
							previous: context.stream
						}),
						onDone: { target: '#capture.live', actions: ['assignOpened', 'noteFlipFailed'] },
						onError: {
							target: '#capture.failed',
							actions: 'assignFailure',
							// Stryker disable next-line StringLiteral: descriptions only label the chart
							description: 'Neither camera opens; a retry asks for the one that worked'
						}
					}
				}
			}
		},
		failed: {
			entry: 'reportFailed',
			on: {
				'camera.retry': { target: 'acquiring', actions: assign({ failure: null }) },
				'camera.start': { target: 'acquiring', actions: assign({ failure: null }) }
			}
		}
	}
});
