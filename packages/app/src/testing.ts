/** Local fakes of the real providers, for tests and benchmarks (they speak each provider's wire format). */
export { FakeSmtp } from './providers/smtp/testing/fake-smtp.js';
export { FakeTelerivet } from './providers/telerivet/testing/fake-telerivet.js';
export { FakeTwilio } from './providers/twilio/testing/fake-twilio.js';
