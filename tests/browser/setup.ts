// Every browser test fails on a Content-Security-Policy violation, whatever it was testing:
// a blocked script or style breaks the app for real users even where the test's own checks pass.
import { afterEach } from 'vitest';
import { takeCspViolations } from './harness';

afterEach(() => {
	const violations = takeCspViolations();
	if (violations.length) throw new Error(`Content-Security-Policy violations:\n${violations.join('\n')}`);
});
