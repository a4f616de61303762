import { assertEvent, assign, enqueueActions, setup } from 'xstate';
import type { CameraControls } from './actors/camera-caps';
import { cameraTuner, snapZoom, type CameraTuning, type TunedEvent } from './actors/camera-tuning';

/**
 * Zoom and torch of the live camera, for a track that reports them (CameraInfo.controls). One
 * per track: the controls' view starts it with the capture machine's stream and stops it when
 * the track changes. Its code loads with that view, never for a camera without controls.
 *
 * Events:
 * - `camera.zoom { zoom }`: the slider moved or the fingers pinched; kept to the range and its
 *   steps. Refused for a camera without zoom.
 * - `camera.torch { on }`: the torch button. Refused for a camera without a torch.
 * - `camera.tuned { zoom, torch }` (TunedEvent): from the tuner: what the track reports, at
 *   start and after each change went through (or was refused).
 */
export type TuningEvent = { type: 'camera.zoom'; zoom: number } | { type: 'camera.torch'; on: boolean } | TunedEvent;

export interface TuningContext extends CameraTuning {
	stream: MediaStream | null;
	controls: CameraControls;
}

export const tuningMachine = setup({
	// Stryker disable next-line ObjectLiteral: types only inform TypeScript
	types: {
		context: {} as TuningContext,
		events: {} as TuningEvent,
		input: {} as { stream: MediaStream | null; controls: CameraControls }
	},
	actors: { cameraTuner },
	guards: {
		hasZoom: ({ context }) => !!context.controls.zoom,
		hasTorch: ({ context }) => context.controls.torch
	},
	actions: {
		/** The zoom asked for, on the camera's steps (the slider follows it at once), and the
		 * tuner told to apply it. */
		zoom: enqueueActions(({ context, event, enqueue }) => {
			assertEvent(event, 'camera.zoom');
			const zoom = snapZoom(context.controls.zoom!, event.zoom);
			enqueue.assign({ zoom });
			enqueue.sendTo('cameraTuner', { type: 'camera.tune', zoom });
		}),
		torch: enqueueActions(({ event, enqueue }) => {
			assertEvent(event, 'camera.torch');
			enqueue.assign({ torch: event.on });
			enqueue.sendTo('cameraTuner', { type: 'camera.tune', torch: event.on });
		})
	}
}).createMachine({
	id: 'tuning',
	// Without input (the mutation runner's smoke start): no track, no controls.
	context: ({ input }) => {
		const controls = input?.controls ?? { zoom: null, torch: false };
		return { stream: input?.stream ?? null, controls, zoom: controls.zoom?.min ?? null, torch: false };
	},
	invoke: {
		src: 'cameraTuner',
		id: 'cameraTuner',
		input: ({ context }) => ({ stream: context.stream, controls: context.controls })
	},
	on: {
		'camera.zoom': { guard: 'hasZoom', actions: 'zoom' },
		'camera.torch': { guard: 'hasTorch', actions: 'torch' },
		'camera.tuned': {
			actions: assign(({ event }) => ({ zoom: event.zoom, torch: event.torch })),
			// Stryker disable next-line StringLiteral: descriptions only label the chart
			description: 'What the track reports: a refused change falls back here'
		}
	}
});
