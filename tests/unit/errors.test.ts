import { describe, expect, test } from 'vitest';
import { captureFailure, isOverconstrained, signalingFailure, fatalSignalingReasons, callFailure, configFailure, signalingMessages } from '$machines/errors';
import { domError } from './fakes';

describe('capture failures map DOMException names to reasons', () => {
	test.each([
		['NotAllowedError', 'permission-denied'],
		['PermissionDeniedError', 'permission-denied'],
		['NotFoundError', 'no-camera'],
		['DevicesNotFoundError', 'no-camera'],
		['NotReadableError', 'camera-in-use'],
		['TrackStartError', 'camera-in-use'],
		['OverconstrainedError', 'unsupported-constraint'],
		['SecurityError', 'insecure-context'],
		['AbortError', 'aborted'],
		['TypeError', 'unknown']
	])('%s → %s', (name, reason) => {
		const failure = captureFailure(domError(name));
		expect(failure.reason).toBe(reason);
		expect(failure.message.length).toBeGreaterThan(10);
	});

	test('only OverconstrainedError is retried with relaxed constraints', () => {
		expect(isOverconstrained(domError('OverconstrainedError'))).toBe(true);
		expect(isOverconstrained(domError('NotFoundError'))).toBe(false);
		expect(isOverconstrained(undefined)).toBe(false);
	});
});

describe('signaling failures: one reason per PeerJS error type', () => {
	const types = [
		'browser-incompatible',
		'disconnected',
		'invalid-id',
		'invalid-key',
		'network',
		'peer-unavailable',
		'ssl-unavailable',
		'server-error',
		'socket-error',
		'socket-closed',
		'unavailable-id',
		'webrtc'
	];
	test.each(types.filter((t) => t !== 'peer-unavailable'))('%s keeps its name and has a message', (type) => {
		const failure = signalingFailure(type);
		expect(failure.reason).toBe(type);
		expect(failure.message).not.toBe('');
	});
	test('unknown types fall back to unknown, inherited names included', () => {
		expect(signalingFailure('something-new').reason).toBe('unknown');
		expect(signalingFailure(undefined).reason).toBe('unknown');
		for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
			expect(signalingFailure(name)).toEqual({ reason: 'unknown', message: signalingMessages.unknown });
		}
	});
	test('no usable /signaling.json: config-unavailable, not fatal, with what went wrong for the inspector', () => {
		expect(configFailure({ detail: 'HTTP 503' })).toEqual({
			reason: 'config-unavailable',
			message: `${signalingMessages['config-unavailable']} (/signaling.json: HTTP 503)`
		});
		expect(configFailure(undefined)).toEqual({ reason: 'config-unavailable', message: signalingMessages['config-unavailable'] });
		expect(fatalSignalingReasons).not.toContain('config-unavailable');
	});
	test('ID and key problems are fatal (no blind retry); network ones are not', () => {
		expect(fatalSignalingReasons).toContain('unavailable-id');
		expect(fatalSignalingReasons).not.toContain('network');
	});
	test('a declined call message says so', () => {
		expect(callFailure('declined').message).toMatch(/declined/);
	});
});
