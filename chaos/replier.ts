/**
 * The replier of a chaos run: for a delivered message that expects a reply, it POSTs a signed reply
 * (Standard Webhooks, webhook-id = message id) and, like a careful client, resends the identical reply
 * when the API is unreachable, answers 5xx or takes too long. Some replies are resent once more after
 * success, to check that an identical resend is answered as the recorded reply.
 */
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';

export interface ReplyAnswer {
  messageId: string;
  /** HTTP status, or 0 when the API could not be reached or did not answer in time. */
  status: number;
  at: number;
  latencyMs: number;
  /** A deliberate identical resend after an earlier success. */
  resend: boolean;
}

export interface ReplierOptions {
  apiUrl: () => string;
  apiKey: string;
  secret: string;
  delayMs: () => number;
  resendRatio: number;
  random: () => number;
  /** Give up resending after this long. */
  patienceMs: number;
}

export class Replier {
  readonly answers: ReplyAnswer[] = [];
  /** The body each message was replied with, and when the first POST was made. */
  readonly sent = new Map<string, { body: string; firstAt: number }>();
  private readonly pending = new Set<Promise<void>>();
  private readonly webhook: Webhook;

  constructor(private readonly options: ReplierOptions) {
    this.webhook = new Webhook(options.secret);
  }

  /** Schedules the reply for one message. */
  replyTo(messageId: string): void {
    const body = JSON.stringify({
      body: { nonce: `${messageId}-${Math.floor(this.options.random() * 1e9)}` },
      status: 200,
    });
    const task = (async () => {
      await sleep(this.options.delayMs());
      this.sent.set(messageId, { body, firstAt: Date.now() });
      const succeeded = await this.postUntilAnswered(messageId, body, false);
      if (succeeded && this.options.random() < this.options.resendRatio) {
        await sleep(200);
        await this.postUntilAnswered(messageId, body, true);
      }
    })();
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async postUntilAnswered(messageId: string, body: string, resend: boolean): Promise<boolean> {
    const giveUpAt = Date.now() + this.options.patienceMs;
    for (;;) {
      const started = Date.now();
      let status: number;
      try {
        const timestamp = new Date();
        const signature = this.webhook.sign(messageId, timestamp, body);
        const response = await request(`${this.options.apiUrl()}/v1/messages/${messageId}/reply`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${this.options.apiKey}`,
            'content-type': 'application/json',
            'webhook-id': messageId,
            'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
            'webhook-signature': signature,
          },
          body,
          headersTimeout: 15_000,
          bodyTimeout: 15_000,
        });
        status = response.statusCode;
        await response.body.dump();
      } catch {
        status = 0;
      }
      this.answers.push({ messageId, status, at: started, latencyMs: Date.now() - started, resend });
      if (status >= 200 && status < 300) return true;
      if (status >= 400 && status < 500) return false;
      if (Date.now() > giveUpAt) return false;
      await sleep(1_000);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
