// SPDX-License-Identifier: MIT
// A SCIM 2.0 service provider for staffsync's tests: SCIMMY validates every
// request against the SCIM schemas (and the project's extension schema); this
// file only supplies in-memory storage, uniqueness and a few switches.
//
//   node server.js --port-file FILE [--tls-cert C --tls-key K] [--token-file F]
//                  [--token-dir DIR] [--basic USER:PASSWORD] [--bulk] [--dump FILE]
//                  [--oauth CLIENT:SECRET [--token-lifetime S]]
//
// --oauth: POST /oauth/token (client credentials grant, client by HTTP
// basic) issues bearer tokens valid --token-lifetime seconds (default 3600);
// every issued token is counted in the log as "TOKEN issued".
//
// --token-dir: each tenant has its own token, DIR/TENANT.token (the tenant of
// /scim/v2 is "default").
//
// Writes its port to --port-file once listening (the harness waits on that
// file). SIGUSR2 writes every user as JSON to --dump (for a test's checks).
// DELETE is refused: staffsync must never send one, and a test sees it in
// the request log (--log FILE: one line "METHOD PATH STATUS" per request).
"use strict";
const fs = require("fs");
const http = require("http");
const https = require("https");
const crypto = require("crypto");
const express = require("express");
const SCIMMY = require("scimmy");
const SCIMMYRouters = require("scimmy-routers").default ?? require("scimmy-routers");

const args = {};
for (let i = 2; i < process.argv.length; i++) {
	const a = process.argv[i];
	if (a === "--bulk") args.bulk = true;
	else args[a.replace(/^--/, "")] = process.argv[++i];
}

// The project's extension schema (documented in plugins/scim/SCHEMA.md).
const EXT_URN = "urn:ietf:params:scim:schemas:extension:staffsync:2.0:User";
const A = SCIMMY.Types.Attribute;
const ext = new SCIMMY.Types.SchemaDefinition("StaffsyncUser", EXT_URN,
	"staffsync: a membership's clinical role, permission level and status", [
		new A("string", "role"),
		new A("string", "label"),
		new A("string", "permissionLevel", {canonicalValues: ["Staff", "Coordinator", "Facility Admin", "Global Admin"]}),
		new A("string", "speciality"),
		new A("string", "facility"),
		new A("string", "accountStatus", {canonicalValues: ["no_account", "pending", "active", "deactivated"]}),
	]);
SCIMMY.Resources.declare(SCIMMY.Resources.User);
SCIMMY.Resources.User.extend(ext, false);
SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false);
SCIMMY.Config.set({patch: true, filter: true, sort: true, changePassword: false, etag: false});

// Storage per tenant: /scim/v2 is tenant "", /NAME/scim/v2 tenant NAME (a
// facility's own service provider, for base_url templates).
const tenants = new Map();     // tenant -> Map(id -> stored resource)
let seq = 0;
const lower = (s) => (typeof s === "string" ? s.toLowerCase() : s);
const store = (ctx) => {
	const t = ctx?.tenant ?? "";
	if (!tenants.has(t)) tenants.set(t, new Map());
	return tenants.get(t);
};

function conflict(users, data, id) {
	for (const u of users.values())
		if (u.id !== id && lower(u.userName) === lower(data.userName))
			return `userName ${data.userName} is already in use`;
	return null;
}

SCIMMY.Resources.User
	.ingress((resource, data, ctx) => {
		const users = store(ctx);
		const why = conflict(users, data, resource.id);
		if (why) throw new SCIMMY.Types.Error(409, "uniqueness", why);
		const now = new Date().toISOString();
		if (resource.id) {
			const old = users.get(resource.id);
			if (!old) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
			const u = {...data, id: old.id, meta: {...old.meta, lastModified: now}};
			users.set(old.id, u);
			return u;
		}
		const id = `u${++seq}-${crypto.randomBytes(4).toString("hex")}`;
		const u = {...data, id, meta: {resourceType: "User", created: now, lastModified: now}};
		users.set(id, u);
		return u;
	})
	.egress((resource, ctx) => {
		const users = store(ctx);
		if (resource.id) {
			const u = users.get(resource.id);
			if (!u) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
			return u;
		}
		const all = [...users.values()];
		return resource.filter ? resource.filter.match(all) : all;
	})
	.degress(() => {
		throw new SCIMMY.Types.Error(403, null, "DELETE is not allowed here: accounts are deactivated");
	});

function readSecret(path) {
	return fs.readFileSync(path, "utf8").trim();
}

const tenantOf = (req) => (req.baseUrl.match(/^\/([^/]+)\/scim\/v2/) ?? [])[1] ?? "";

const app = express();
// A platform's own "send the invitation" call (target.invite_request).
app.post(["/scim/v2/Users/:id/invite", "/:tenant/scim/v2/Users/:id/invite"], (req, res) => {
	const u = store({tenant: req.params.tenant ?? ""}).get(req.params.id);
	if (!u) return res.status(404).json({detail: "no such user"});
	if (args.log) fs.appendFileSync(args.log, `INVITE ${u.externalId ?? ""} ${u.emails?.[0]?.value ?? ""}\n`);
	res.status(204).end();
});
const issued = new Map();      // OAuth2 access token -> expiry (ms)
app.post("/oauth/token", express.urlencoded({extended: false}), (req, res) => {
	const h = req.header("Authorization") ?? "";
	if (h !== "Basic " + Buffer.from(args.oauth ?? "").toString("base64") ||
	    req.body.grant_type !== "client_credentials")
		return res.status(401).json({error: "invalid_client"});
	const token = crypto.randomBytes(16).toString("hex");
	const life = Number(args["token-lifetime"] ?? 3600);
	issued.set(token, Date.now() + life * 1000);
	if (args.log) fs.appendFileSync(args.log, "TOKEN issued\n");
	res.json({access_token: token, token_type: "Bearer", expires_in: life});
});
app.use((req, res, next) => {
	// SCIMMY ignores startIndex/count given as strings.
	for (const k of ["startIndex", "count"])
		if (typeof req.query[k] === "string" && /^\d+$/.test(req.query[k]))
			req.query[k] = Number(req.query[k]);
	if (args.log)
		res.on("finish", () => fs.appendFileSync(args.log, `${req.method} ${req.originalUrl} ${res.statusCode}\n`));
	next();
});
app.use(["/scim/v2", "/:tenant/scim/v2"], new SCIMMYRouters({
	type: args.basic ? "basic" : "bearer",
	docUri: "https://example.com/staffsync/tests",
	handler: (req) => {
		const h = req.header("Authorization") ?? "";
		if (args.oauth) {
			const exp = issued.get(h.replace(/^Bearer /, ""));
			if (!exp || exp < Date.now()) throw new Error("Invalid or expired token");
		} else if (args.basic) {
			if (h !== "Basic " + Buffer.from(args.basic).toString("base64"))
				throw new Error("Wrong credentials");
		} else if (args["token-dir"]) {
			const t = tenantOf(req) || "default";
			if (h !== "Bearer " + readSecret(`${args["token-dir"]}/${t}.token`))
				throw new Error("Wrong bearer token");
		} else if (args["token-file"]) {
			if (h !== "Bearer " + readSecret(args["token-file"]))
				throw new Error("Wrong bearer token");
		}
		return "staffsync";
	},
	context: (req) => ({tenant: tenantOf(req)}),
}));

// After the routers, which advertise Bulk on their own: only with --bulk.
SCIMMY.Config.set({bulk: args.bulk ? {supported: true, maxOperations: 1000, maxPayloadSize: 10485760}
	: {supported: false}});

process.on("SIGUSR2", () => {
	if (args.dump)
		fs.writeFileSync(args.dump + ".tmp", JSON.stringify(Object.fromEntries(
			[...tenants].map(([t, m]) => [t, [...m.values()]])), null, 1));
	if (args.dump)
		fs.renameSync(args.dump + ".tmp", args.dump);
});
process.on("SIGTERM", () => process.exit(0));

const server = args["tls-cert"]
	? https.createServer({cert: fs.readFileSync(args["tls-cert"]), key: fs.readFileSync(args["tls-key"])}, app)
	: http.createServer(app);
server.keepAliveTimeout = 60000;
server.listen(Number(args.port ?? 0), "127.0.0.1", () => {
	const file = args["port-file"];
	fs.writeFileSync(file + ".tmp", String(server.address().port));
	fs.renameSync(file + ".tmp", file);
});
