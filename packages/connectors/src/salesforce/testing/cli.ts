/** `pnpm fake:salesforce [port] [contacts]`: a local Salesforce to point Signalbox at by hand. */
import { FakeSalesforce } from './fake-salesforce.js';

const [port = '4020', contacts = '25'] = process.argv.slice(2);
const fake = new FakeSalesforce();
const url = await fake.start(Number(port));
const org = fake.org();
fake.seedContacts(org.id, Number(contacts));
const redirect = 'http://127.0.0.1:3000/salesforce/oauth/callback';
const t = fake.issueTokens(org.id);
process.stdout.write(
  [
    `fake Salesforce at ${url} (org ${org.id}, ${contacts} contacts, API v60.0, CometD at ${url}/cometd/60.0)`,
    `  connected app: client id ${fake.clientId}, client secret ${fake.clientSecret}`,
    `  login URL (OAuth, JWT audience): ${url}`,
    `  web server flow: ${url}/services/oauth2/authorize?response_type=code&client_id=${encodeURIComponent(fake.clientId)}&redirect_uri=${encodeURIComponent(redirect)}&state=…`,
    `    (approves at once and redirects to the redirect_uri with ?code=…)`,
    `  or these tokens: instance_url ${t.instance_url}`,
    `    access_token  ${t.access_token}`,
    `    refresh_token ${t.refresh_token}`,
    '',
  ].join('\n'),
);
process.on('SIGINT', () => void fake.stop().then(() => process.exit(0)));
