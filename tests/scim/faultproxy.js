// SPDX-License-Identifier: MIT
// A fault-injecting HTTP proxy between staffsyncd and the SCIM test server.
//
//   node faultproxy.js --upstream PORT --port-file FILE --log FILE [RULE...]
//
// A RULE is METHOD#N=ACTION (the Nth request with that method, counted from
// 1) or METHOD#*=ACTION (every one). Actions:
//   429:S  503:S   answer that status with Retry-After: S, not forwarded
//   500            answer 500, not forwarded
//   cut            close the connection without answering, not forwarded
//   cut-after      forward, then close the connection instead of answering
//   slow:MS        forward, then answer MS milliseconds late
// Every request is logged as "MS_SINCE_START METHOD URL ACTION [EXTERNAL_ID]".
"use strict";
const fs = require("fs");
const http = require("http");

const args = {rules: {}};
for (let i = 2; i < process.argv.length; i++) {
	const a = process.argv[i];
	if (a.startsWith("--")) args[a.slice(2)] = process.argv[++i];
	else {
		const [key, action] = a.split("=");
		args.rules[key] = action;
	}
}
const started = Date.now();
const counts = {};
const agent = new http.Agent({keepAlive: true});

function log(req, action, body) {
	let ext = "";
	try { ext = JSON.parse(body.toString()).externalId ?? ""; } catch { /* not JSON */ }
	fs.appendFileSync(args.log, `${Date.now() - started} ${req.method} ${req.url} ${action} ${ext}\n`);
}

function forward(req, body, then) {
	const up = http.request({host: "127.0.0.1", port: Number(args.upstream), method: req.method,
		path: req.url, headers: req.headers, agent}, (res) => {
		const chunks = [];
		res.on("data", (c) => chunks.push(c));
		res.on("end", () => then(res, Buffer.concat(chunks)));
	});
	up.on("error", () => req.socket.destroy());
	up.end(body);
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on("data", (c) => chunks.push(c));
	req.on("end", () => {
		const body = Buffer.concat(chunks);
		const n = counts[req.method] = (counts[req.method] ?? 0) + 1;
		const action = args.rules[`${req.method}#${n}`] ?? args.rules[`${req.method}#*`] ?? "pass";
		log(req, action, body);
		const [kind, arg] = action.split(":");
		const answer = (up, data) => {
			res.writeHead(up.statusCode, up.headers);
			res.end(data);
		};
		if (kind === "429" || kind === "503" || kind === "500") {
			const headers = {"Content-Type": "application/scim+json"};
			if (arg) headers["Retry-After"] = arg;
			res.writeHead(Number(kind), headers);
			res.end(JSON.stringify({schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
				status: kind, detail: `injected ${kind}`}));
		} else if (kind === "cut")
			req.socket.destroy();
		else if (kind === "cut-after")
			forward(req, body, () => req.socket.destroy());
		else if (kind === "slow")
			forward(req, body, (up, data) => setTimeout(() => answer(up, data), Number(arg)));
		else
			forward(req, body, answer);
	});
});
process.on("SIGTERM", () => process.exit(0));
server.listen(0, "127.0.0.1", () => {
	fs.writeFileSync(args["port-file"] + ".tmp", String(server.address().port));
	fs.renameSync(args["port-file"] + ".tmp", args["port-file"]);
});
