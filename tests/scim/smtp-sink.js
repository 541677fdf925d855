// SPDX-License-Identifier: MIT
// An SMTP sink with STARTTLS and AUTH (npm smtp-server), for the invite
// e-mail tests:
//   node smtp-sink.js --port-file F --dir D [--cert C --key K] [--user NAME:PASSWORD]
//                     [--secure yes] [--refuse ADDRESS=CODE,...] [--rcpt-log FILE]
// AUTH is refused before STARTTLS; without --user no AUTH is offered.
// --secure yes: implicit TLS (smtps) instead of STARTTLS. --refuse: RCPT TO
// of ADDRESS is answered with CODE (e.g. 550, 451). --rcpt-log: one line
// "ADDRESS CODE" per RCPT TO. Every message is written to D/N.eml,
// preceded by "X-Sink-User: NAME" and "X-Sink-TLS: yes|no" lines.
"use strict";
const fs = require("fs");
const {SMTPServer} = require("smtp-server");

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const [user, password] = args.user ? args.user.split(/:(.*)/s) : [];
const refuse = new Map((args.refuse ?? "").split(",").filter(Boolean).map((r) => {
	const [address, code] = r.split("=");
	return [address.toLowerCase(), Number(code)];
}));
let n = 0;

const server = new SMTPServer({
	secure: args.secure === "yes",
	authOptional: !args.user,
	disabledCommands: args.user ? [] : ["AUTH"],
	// Without --cert/--key: smtp-server's own self-signed certificate.
	...(args.key ? {key: fs.readFileSync(args.key), cert: fs.readFileSync(args.cert)} : {}),
	authMethods: ["PLAIN", "LOGIN"],
	allowInsecureAuth: false,
	logger: false,
	onAuth(auth, session, callback) {
		if (auth.username === user && auth.password === password) return callback(null, {user});
		return callback(new Error("Invalid username or password"));
	},
	onRcptTo(address, session, callback) {
		const code = refuse.get(address.address.toLowerCase()) ?? 250;
		if (args["rcpt-log"]) fs.appendFileSync(args["rcpt-log"], `${address.address} ${code}\n`);
		if (code === 250) return callback();
		const err = new Error(code >= 500 ? "Mailbox unavailable" : "Try again later");
		err.responseCode = code;
		return callback(err);
	},
	onData(stream, session, callback) {
		const chunks = [];
		stream.on("data", (c) => chunks.push(c));
		stream.on("end", () => {
			const head = `X-Sink-User: ${session.user ?? ""}\r\nX-Sink-TLS: ${session.secure ? "yes" : "no"}\r\n`;
			fs.writeFileSync(`${args.dir}/${++n}.eml`, head + Buffer.concat(chunks).toString());
			callback();
		});
	},
});
server.on("error", (e) => console.error("smtp-sink:", e.message));
process.on("SIGTERM", () => process.exit(0));
server.listen(0, "127.0.0.1", () => {
	fs.writeFileSync(args["port-file"] + ".tmp", String(server.server.address().port));
	fs.renameSync(args["port-file"] + ".tmp", args["port-file"]);
});
