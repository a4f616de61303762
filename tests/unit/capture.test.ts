import { describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, fromPromise, waitFor } from 'xstate';
import { captureMachine, flipTarget, type CaptureContext } from '$machines/capture.machine';
import type { CameraDevice, OpenCameraInput, OpenCameraOutput } from '$machines/actors/media';
import { allStatePaths, domError, FakeStream, FakeTrack, replayShortestPaths } from './fakes';

const devices: CameraDevice[] = [
	{ deviceId: 'cam-a', label: 'Camera A' },
	{ deviceId: 'cam-b', label: 'Camera B' }
];

function opened(input: OpenCameraInput, overrides: Partial<OpenCameraOutput['info']> = {}, list = devices): OpenCameraOutput {
	const deviceId = input.deviceId ?? 'cam-a';
	const track = new FakeTrack('video', deviceId);
	return {
		stream: new FakeStream([track]) as unknown as MediaStream,
		info: { deviceId, label: deviceId, width: 1280, height: 720, facing: null, mirrored: input.facing === 'user', ...overrides },
		devices: list
	};
}

function setup(open: (input: OpenCameraInput) => Promise<OpenCameraOutput>) {
	const calls: OpenCameraInput[] = [];
	const reportLive = vi.fn();
	const reportFailed = vi.fn();
	let watcher: ((e: { type: string }) => void) | null = null;
	const machine = captureMachine.provide({
		actors: {
			openCamera: fromPromise(async ({ input }: { input: OpenCameraInput }) => {
				calls.push(input);
				return open(input);
			}),
			watchCamera: fromCallback(({ sendBack }) => {
				watcher = sendBack;
				return () => (watcher = null);
			})
		},
		actions: { reportLive, reportFailed }
	});
	const actor = createActor(machine).start();
	return { actor, calls, reportLive, reportFailed, emit: (e: { type: string }) => watcher?.(e) };
}

describe('capture machine', () => {
	test('idle until camera.start, then acquiring → live with the camera described', async () => {
		const { actor, reportLive } = setup(async (input) => opened(input));
		expect(actor.getSnapshot().value).toBe('idle');
		actor.send({ type: 'camera.start' });
		expect(actor.getSnapshot().value).toBe('acquiring');
		await waitFor(actor, (s) => s.matches('live'));
		expect(actor.getSnapshot().context.info).toMatchObject({ width: 1280, height: 720 });
		expect(reportLive).toHaveBeenCalledTimes(1);
	});

	test.each([
		['NotAllowedError', 'permission-denied'],
		['NotFoundError', 'no-camera'],
		['NotReadableError', 'camera-in-use'],
		['SecurityError', 'insecure-context'],
		['AbortError', 'aborted'],
		['Whatever', 'unknown']
	])('%s → failed with reason %s and a message', async (name, reason) => {
		const { actor, reportFailed } = setup(async () => {
			throw domError(name);
		});
		actor.send({ type: 'camera.start' });
		await waitFor(actor, (s) => s.matches('failed'));
		expect(actor.getSnapshot().context.failure?.reason).toBe(reason);
		expect(actor.getSnapshot().context.failure?.message).toBeTruthy();
		expect(reportFailed).toHaveBeenCalledTimes(1);
	});

	test('OverconstrainedError retries once with relaxed constraints, then succeeds', async () => {
		const { actor, calls } = setup(async (input) => {
			if (!input.relaxed) throw domError('OverconstrainedError');
			return opened(input);
		});
		actor.send({ type: 'camera.start' });
		await waitFor(actor, (s) => s.matches('live'));
		expect(calls.map((c) => c.relaxed)).toEqual([false, true]);
	});

	test('OverconstrainedError twice → failed unsupported-constraint (no endless retry)', async () => {
		const { actor, calls } = setup(async () => {
			throw domError('OverconstrainedError');
		});
		actor.send({ type: 'camera.start' });
		await waitFor(actor, (s) => s.matches('failed'));
		expect(calls).toHaveLength(2);
		expect(actor.getSnapshot().context.failure?.reason).toBe('unsupported-constraint');
	});

	test('flip without a reported facing cycles deviceIds and hands the old stream over to be stopped', async () => {
		const { actor, calls } = setup(async (input) => opened(input));
		actor.send({ type: 'camera.start' });
		await waitFor(actor, (s) => s.matches('live'));
		const first = actor.getSnapshot().context.stream;
		actor.send({ type: 'camera.flip' });
		expect(actor.getSnapshot().value).toBe('switching');
		await waitFor(actor, (s) => s.matches('live'));
		expect(calls[1]).toMatchObject({ deviceId: 'cam-b', previous: first });
		expect(actor.getSnapshot().context.info?.deviceId).toBe('cam-b');
		actor.send({ type: 'camera.flip' });
		await waitFor(actor, (s) => s.matches('live') && s.context.info?.deviceId === 'cam-a');
	});

	test('flip on a phone asks for the other facingMode, not a deviceId', async () => {
		const { actor, calls } = setup(async (input) =>
			opened(input, { facing: input.facing, mirrored: input.facing === 'user' })
		);
		actor.send({ type: 'camera.start' });
		await waitFor(actor, (s) => s.matches('live'));
		expect(actor.getSnapshot().context.info?.mirrored).toBe(true);
		actor.send({ type: 'camera.flip' });
		await waitFor(actor, (s) => s.matches('live') && calls.length === 2);
		expect(calls[1]).toMatchObject({ facing: 'environment', deviceId: null });
		expect(actor.getSnapshot().context.info?.mirrored).toBe(false);
	});

	test('flip is refused with a single camera, and enabled when a second one is plugged in', async () => {
		const one = [devices[0]];
		const { actor, emit } = setup(async (input) => opened(input, {}, one));
		actor.send({ type: 'camera.start' });
		await waitFor(actor, (s) => s.matches('live'));
		expect(actor.getSnapshot().can({ type: 'camera.flip' })).toBe(false);
		emit({ type: 'camera.devices', devices } as never);
		expect(actor.getSnapshot().can({ type: 'camera.flip' })).toBe(true);
	});

	test('a track that ends by itself → failed track-ended, and retry reopens', async () => {
		const { actor, emit } = setup(async (input) => opened(input));
		actor.send({ type: 'camera.start' });
		await waitFor(actor, (s) => s.matches('live'));
		const track = actor.getSnapshot().context.stream!.getVideoTracks()[0];
		emit({ type: 'camera.trackEnded' });
		expect(actor.getSnapshot().value).toBe('failed');
		expect(actor.getSnapshot().context.failure?.reason).toBe('track-ended');
		expect(track.readyState).toBe('ended');
		actor.send({ type: 'camera.retry' });
		await waitFor(actor, (s) => s.matches('live'));
		expect(actor.getSnapshot().context.failure).toBeNull();
	});

	test('camera.stop releases every track', async () => {
		const { actor } = setup(async (input) => opened(input));
		actor.send({ type: 'camera.start' });
		await waitFor(actor, (s) => s.matches('live'));
		const track = actor.getSnapshot().context.stream!.getVideoTracks()[0];
		actor.send({ type: 'camera.stop' });
		expect(actor.getSnapshot().value).toBe('idle');
		expect(track.readyState).toBe('ended');
	});

	test('flipTarget: next device wraps around; unknown current starts at the first', () => {
		const base: CaptureContext = {
			stream: null,
			info: { deviceId: 'x', label: '', width: 0, height: 0, facing: null, mirrored: false },
			devices: [...devices, { deviceId: 'cam-c', label: 'C' }],
			facing: 'user',
			deviceId: null,
			relaxed: false,
			failure: null
		};
		expect(flipTarget(base).deviceId).toBe('cam-a');
		expect(flipTarget({ ...base, info: { ...base.info!, deviceId: 'cam-c' } }).deviceId).toBe('cam-a');
		expect(flipTarget({ ...base, info: { ...base.info!, deviceId: 'cam-a' } }).deviceId).toBe('cam-b');
	});
});

describe('capture machine: model-based paths', () => {
	test('shortest paths replay on the real actor and reach every state', () => {
		const inert = captureMachine.provide({
			actors: {
				openCamera: fromPromise(() => new Promise<OpenCameraOutput>(() => {})),
				watchCamera: fromCallback(() => () => {})
			},
			actions: { reportLive: () => {}, reportFailed: () => {} }
		});
		const output = opened({ facing: 'user', relaxed: false });
		const { reached, mismatches } = replayShortestPaths(inert, [
			{ type: 'camera.start' },
			{ type: 'camera.flip' },
			{ type: 'camera.retry' },
			{ type: 'camera.stop' },
			{ type: 'camera.trackEnded' },
			{ type: 'xstate.done.actor.openCamera', output },
			{ type: 'xstate.error.actor.openCamera', error: domError('NotFoundError') },
			{ type: 'xstate.done.actor.switchCamera', output },
			{ type: 'xstate.error.actor.switchCamera', error: domError('NotReadableError') }
		] as never[]);
		expect(mismatches).toEqual([]);
		expect([...reached].sort()).toEqual(allStatePaths(captureMachine).sort());
	});
});
