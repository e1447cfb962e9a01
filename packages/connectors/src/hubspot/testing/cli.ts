/** `pnpm fake:hubspot [port] [contacts]`: a local HubSpot to point Signalbox (HUBSPOT_API_BASE) at by hand. */
import { FakeHubspot } from './fake-hubspot.js';

const [port = '4010', contacts = '25'] = process.argv.slice(2);
const fake = new FakeHubspot();
const url = await fake.start(Number(port));
fake.seedContacts(62515, Number(contacts));
const code = fake.authorizationCode(62515);
process.stdout.write(
  [
    `fake HubSpot at ${url} (portal 62515, ${fake.portal(62515).objects.contacts?.size} contacts)`,
    `  client id ${fake.clientId}, client secret ${fake.clientSecret}`,
    `  an authorization code for portal 62515: ${code}`,
    '',
  ].join('\n'),
);
process.on('SIGINT', () => void fake.stop().then(() => process.exit(0)));
