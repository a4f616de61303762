/**
 * What a call needs besides its media, loaded ahead of the first call (issue 17): the device
 * certificate is read once per page, by the warm-up or by the first call, whichever comes
 * first, and every call after that gets the same one without touching IndexedDB again.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createActor, waitFor, type AnyEventObject } from 'xstate';

const store = vi.hoisted(() => ({ reads: 0, fail: false, cert: { fake: 'certificate' } }));
vi.mock('$machines/actors/certificate', () => ({
	loadDeviceCertificate: async () => {
		store.reads++;
		if (store.fail) throw new Error('IndexedDB refused');
		return store.cert;
	}
}));

beforeEach(() => {
	vi.resetModules();
	store.reads = 0;
	store.fail = false;
	vi.stubGlobal('indexedDB', {});
	vi.stubGlobal('RTCPeerConnection', { generateCertificate: () => {} });
	vi.stubGlobal('requestIdleCallback', (run: () => void) => setTimeout(run, 0));
});
afterEach(() => vi.unstubAllGlobals());

/** Runs one call's certificate actor to its answer. */
async function certificateFor(logic: typeof import('$machines/actors/call-extras').deviceCertificate): Promise<AnyEventObject> {
	const heard: AnyEventObject[] = [];
	const parent = createActor(
		(await import('xstate')).setup({ actors: { logic } }).createMachine({
			invoke: { src: 'logic' },
			on: { '*': { actions: ({ event }) => heard.push(event) } }
		})
	).start();
	await waitFor(parent, () => heard.length > 0, { timeout: 1000 });
	parent.stop();
	return heard[0];
}

describe('the device certificate, ahead of the first call', () => {
	test('the warm-up reads it once; the calls after it get that one without another read', async () => {
		const { prepareCalls, deviceCertificate } = await import('$machines/actors/call-extras');
		prepareCalls();
		await vi.waitFor(() => expect(store.reads).toBe(1));
		expect(await certificateFor(deviceCertificate)).toEqual({ type: 'certificate.ready', certificate: store.cert });
		expect(await certificateFor(deviceCertificate)).toEqual({ type: 'certificate.ready', certificate: store.cert });
		expect(store.reads).toBe(1);
	});

	test('without the warm-up the first call reads it, and the second does not', async () => {
		const { deviceCertificate } = await import('$machines/actors/call-extras');
		expect(await certificateFor(deviceCertificate)).toMatchObject({ type: 'certificate.ready' });
		expect(await certificateFor(deviceCertificate)).toMatchObject({ type: 'certificate.ready' });
		expect(store.reads).toBe(1);
	});

	test('a read that failed is tried again by the next call (and that call goes on without meanwhile)', async () => {
		store.fail = true;
		const { prepareCalls, deviceCertificate } = await import('$machines/actors/call-extras');
		prepareCalls();
		await vi.waitFor(() => expect(store.reads).toBe(1));
		store.fail = false;
		expect(await certificateFor(deviceCertificate)).toEqual({ type: 'certificate.ready', certificate: store.cert });
		expect(store.reads).toBe(2);
	});

	test('stopped before the page was idle, the warm-up reads nothing', async () => {
		const { prepareCalls } = await import('$machines/actors/call-extras');
		const stop = prepareCalls();
		stop();
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(store.reads).toBe(0);
	});
});
