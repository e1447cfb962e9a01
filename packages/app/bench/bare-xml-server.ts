/** The Outbound Message baseline: Express 5 doing only XML parsing (fast-xml-parser) and the ACK, in its own process. */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { XMLParser } from 'fast-xml-parser';

const ACK =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>';
const parser = new XMLParser({ removeNSPrefix: true, processEntities: false });
const app = express();
app.post('/outbound', express.text({ type: () => true, limit: '4mb' }), (req, res) => {
  const doc = parser.parse(req.body as string) as { Envelope?: { Body?: { notifications?: unknown } } };
  if (doc.Envelope?.Body?.notifications === undefined) {
    res.status(400).end();
    return;
  }
  res.type('text/xml').send(ACK);
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
