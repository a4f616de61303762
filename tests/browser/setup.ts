// Every browser test fails on a Content-Security-Policy violation, whatever it was testing:
// a blocked script or style breaks the app for real users even where the test's own checks pass.
import { afterEach } from 'vitest';
import { takeCspViolations } from './harness';

afterEach(async () => {
	// Reports travel from the browser asynchronously: let those of this test's last steps arrive
	// here rather than fail the next test.
	await new Promise((resolve) => setTimeout(resolve, 100));
	const violations = takeCspViolations();
	if (violations.length) throw new Error(`Content-Security-Policy violations:\n${violations.join('\n')}`);
});
