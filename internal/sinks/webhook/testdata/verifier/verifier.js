// Verifies the webhook sink's requests with the Standard Webhooks reference
// library, for the Go tests. It takes the secret from WEBHOOK_SECRET,
// listens on a free loopback port and prints that port on one line. Each
// request that verifies gets a 204; one that does not gets a 400 with the
// library's error, which the sink reports as a refused change.
"use strict";

const http = require("node:http");
const { Webhook } = require("standardwebhooks");

const webhook = new Webhook(process.env.WEBHOOK_SECRET);

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    // The body exactly as sent: verify, not a parsed and re-serialised copy.
    const body = Buffer.concat(chunks).toString("utf8");
    try {
      const payload = webhook.verify(body, req.headers);
      if (!/^contact\.(created|updated|deleted|batch)$/.test(payload.type)) {
        throw new Error(`unexpected event type ${JSON.stringify(payload.type)}`);
      }
      res.writeHead(204).end();
    } catch (err) {
      res.writeHead(400, { "content-type": "text/plain" }).end(`${err.name}: ${err.message}`);
    }
  });
});

server.listen(0, "127.0.0.1", () => {
  console.log(server.address().port);
});
