import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '@rag/ingest-contract/webhook-signature';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test-gateway.js';

/** POST /v1/webhook/test: a signed test event to the tenant's receiver, and what the receiver answered. */
let gateway: TestGateway;
let receiver: Server;
let receiverUrl: string;
const secret = 'whsec-0123456789abcdef';
const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
let answerWith = 204;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = answerWith;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  // The receiver runs on this machine: private addresses allowed for this test only.
  gateway = await startTestGateway({ webhookTargets: { allowedHosts: [], allowPrivate: true } });
});

afterAll(async () => {
  await gateway?.close();
  receiver?.close();
});

describe('POST /v1/webhook/test', () => {
  it('answers 404 while no webhook is set', async () => {
    expect((await gateway.call('POST', '/v1/webhook/test')).status).toBe(404);
  });

  it('sends a signed webhook.test event and reports the receiver’s answer', async () => {
    expect((await gateway.call('POST', '/v1/webhook', { body: { url: receiverUrl, secret } })).status).toBe(
      200,
    );
    const answer = await gateway.call('POST', '/v1/webhook/test');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ url: receiverUrl, delivered: true, status: 204 });
    const delivery = received.at(-1)!;
    const event = JSON.parse(delivery.body);
    expect(event).toMatchObject({
      v: 1,
      type: 'webhook.test',
      tenantId: 'default',
      id: answer.body.event_id,
    });
    const signed = verifyWebhookSignature(
      secret,
      {
        signature: delivery.headers['x-rag-signature'] as string,
        timestamp: delivery.headers['x-rag-timestamp'] as string,
      },
      delivery.body,
    );
    expect(signed).toBe(true);
  });

  it('says when the receiver refuses or cannot be reached, without failing the call', async () => {
    answerWith = 500;
    const refused = await gateway.call('POST', '/v1/webhook/test');
    expect(refused.body).toMatchObject({ delivered: false, status: 500 });
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    const unreachable = await gateway.call('POST', '/v1/webhook/test');
    expect(unreachable.status).toBe(200);
    expect(unreachable.body).toMatchObject({ delivered: false, status: null });
    expect(String(unreachable.body.detail)).toMatch(/could not be reached/);
  });
});
